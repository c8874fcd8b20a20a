package tools

// Argument types that several tools take.

// hashArgs names one key by its hash.
type hashArgs struct {
	Hash string `json:"hash" jsonschema:"the key's hash from list_keys; not the secret or the label"`
}

// noArgs is the input of a tool that takes no arguments.
type noArgs struct{}
