package views

import "fmt"

// Approval is the "yes" prompt of apply and destroy. It is text in every
// mode: a person answers it, and -json runs in CI use -auto-approve or a
// saved plan.
type Approval struct{ streams *Streams }

// NewApproval writes the prompt to s.Out and refusals to s.Err.
func NewApproval(s *Streams) *Approval { return &Approval{streams: s} }

// Ask prints the question for op ("apply" or "destroy") and leaves the
// cursor after "Enter a value: ".
func (a *Approval) Ask(op string) {
	q := "Do you want to perform these actions?"
	if op == "destroy" {
		q = "Do you really want to destroy all resources?"
	}
	fmt.Fprintf(a.streams.Out, "\n%s\n  mlops will perform the actions described above.\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", a.streams.Colorize("1", q))
}

// NoTerminal says why op does not ask: nobody could answer.
func (a *Approval) NoTerminal(op string) {
	fmt.Fprintf(a.streams.Err, "\nError: no terminal to ask for approval. Run mlops %s -auto-approve, or apply a saved plan.\n", op)
}

// Cancelled says that the answer was not "yes".
func (a *Approval) Cancelled(op string) {
	fmt.Fprintf(a.streams.Err, "\nError: %s cancelled.\n", op)
}
