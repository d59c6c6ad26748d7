package views

import (
	"fmt"
	"io"
)

// StateNotices are the one-line confirmations of the commands that change
// the state by hand (state rm, state push, state forget-host-key, import,
// force-unlock). They are text only: those commands have no -json.
type StateNotices struct{ w io.Writer }

// NewStateNotices writes to w (the command's stdout).
func NewStateNotices(w io.Writer) StateNotices { return StateNotices{w} }

// Removed: state rm forgot addr.
func (n StateNotices) Removed(addr string) {
	fmt.Fprintf(n.w, "Removed %s from the state (the object itself was not touched).\n", addr)
}

// ForgotHostKey: state forget-host-key forgot addr's pinned key.
func (n StateNotices) ForgotHostKey(addr string) {
	fmt.Fprintf(n.w, "Forgot the host key of %s; the next connection pins the key it finds.\n", addr)
}

// Pushed: state push replaced the state in where.
func (n StateNotices) Pushed(where string) {
	fmt.Fprintf(n.w, "Pushed the state to %s.\n", where)
}

// Imported: import recorded the object id at addr.
func (n StateNotices) Imported(addr, id string) {
	fmt.Fprintf(n.w, "%s: imported %s. Run mlops plan to see how it differs from the configuration.\n", addr, id)
}

// Released: force-unlock removed lock id from where.
func (n StateNotices) Released(id, where string) {
	fmt.Fprintf(n.w, "Released lock %s on %s.\n", id, where)
}

// NotLocked: force-unlock found no lock.
func (n StateNotices) NotLocked() {
	fmt.Fprintln(n.w, "The state is not locked.")
}
