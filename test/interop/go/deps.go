//go:build tools

// Keeps franz-go in go.mod: `go test github.com/twmb/franz-go/pkg/kgo` runs its tests from here.
package deps

import _ "github.com/twmb/franz-go/pkg/kgo"
