package state

func stopMoto() {}
