package tools

// Argument types that several tools take.

// hashArgs names one key by its hash.
type hashArgs struct {
	Hash string `json:"hash" jsonschema:"the key's hash: 64 lowercase hex characters, as list_keys returns it (not the secret key, and not its label)"`
}

// noArgs is the input of a tool that takes no arguments.
type noArgs struct{}
