// yaml2json reads a stream of YAML documents (such as `helm template` output) on standard
// input and writes one JSON array to standard output: [{"source": "...", "object": {...}}, ...].
// Documents are split on lines that are exactly "---" (as kubectl does); "source" is the
// "# Source: <file>" comment helm puts at the top of each document, or "" when there is none.
// Empty documents are dropped. YAML is converted with sigs.k8s.io/yaml, the library the
// Kubernetes API machinery uses, so numbers, booleans and strings come out as the API server
// would read them.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

type doc struct {
	Source string          `json:"source"`
	Index  int             `json:"index"`
	Object json.RawMessage `json:"object"`
}

func main() {
	in, err := io.ReadAll(bufio.NewReader(os.Stdin))
	if err != nil {
		fmt.Fprintln(os.Stderr, "yaml2json:", err)
		os.Exit(1)
	}
	var parts []string
	var cur []string
	for _, line := range strings.Split(string(in), "\n") {
		if strings.TrimRight(line, " \t\r") == "---" {
			parts = append(parts, strings.Join(cur, "\n"))
			cur = nil
			continue
		}
		cur = append(cur, line)
	}
	parts = append(parts, strings.Join(cur, "\n"))

	out := []doc{}
	for i, p := range parts {
		source := ""
		for _, line := range strings.Split(p, "\n") {
			if s, ok := strings.CutPrefix(strings.TrimSpace(line), "# Source: "); ok {
				source = s
				break
			}
		}
		j, err := yaml.YAMLToJSON([]byte(p))
		if err != nil {
			fmt.Fprintf(os.Stderr, "yaml2json: document %d (%s): %v\n", i, source, err)
			os.Exit(1)
		}
		if t := strings.TrimSpace(string(j)); t == "null" || t == "" {
			continue
		}
		out = append(out, doc{Source: source, Index: i, Object: j})
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "yaml2json:", err)
		os.Exit(1)
	}
}
