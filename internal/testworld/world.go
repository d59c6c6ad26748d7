package testworld

// StartMotoServer starts a moto server outside of a test (the demo's test
// world). Stop it with Stop.
func StartMotoServer() (*Moto, error) { return startMoto() }
