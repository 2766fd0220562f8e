// A wrapper module that pins the Gateway API release whose CRD manifests the
// sandbox installs; see tools/README.md. Nothing imports it: do not `go mod tidy`.
module weir.dev/tools/gateway-api

go 1.26.0

require sigs.k8s.io/gateway-api v1.6.3 // indirect
