// Package tui is adstage-ops' live console (Bubble Tea v1). The root model (root.go) owns
// focus, routing, the dialog stack and the status line; each screen and dialog is a
// component (common.go: tea.Model, help.KeyMap, SetSize) that reads a shared context and
// answers with messages. Every call to the action layer runs in one task envelope (tasks.go:
// id, kind and key, a timeout per call under a root context that quitting cancels, duplicates
// refused with a reason, stale answers dropped), and only actions.go names the action layer (aws/ops, aws/awsapi).
// Key bindings (keys.go) carry whether they change AWS and why they are disabled; help, dialog
// hints, read-only mode and the read-only key sweep (Session) are derived from them.
package tui
