// A wrapper module that pins the SMI SDK release whose CRD manifests the
// sandbox installs; see tools/README.md. Nothing imports it: do not `go mod tidy`.
module weir.dev/tools/smi

go 1.26.0

require github.com/servicemeshinterface/smi-sdk-go v0.5.0 // indirect
