// Package deploy holds the deployment files (Dockerfile, compose, Kubernetes, systemd)
// and embeds the one the binary itself needs: the demo county's region tree, which
// `zhucun playground` seeds.
package deploy

import _ "embed"

// RegionsDemo is regions-demo.csv, the demo county in the format of `zhucun import regions`.
//
//go:embed regions-demo.csv
var RegionsDemo []byte
