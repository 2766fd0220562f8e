// A wrapper module that pins the Istio release whose CRD manifests the
// sandbox installs; see tools/README.md. Nothing imports it: do not `go mod tidy`.
module weir.dev/tools/istio

go 1.26.0

require istio.io/api v1.32.0 // indirect
