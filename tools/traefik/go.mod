// A wrapper module that pins the Traefik release whose CRD manifests the
// sandbox installs; see tools/README.md. Nothing imports it: do not `go mod tidy`.
module weir.dev/tools/traefik

go 1.26.0

require github.com/traefik/traefik/v3 v3.7.13 // indirect
