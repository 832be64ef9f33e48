# Sourced by build.sh and pin.sh: the pinned versions of the test control plane and chart tools.
# Changing KUBERNETES_VERSION or ETCD_VERSION needs `bash tools/envtest/pin.sh` to rewrite the
# go.mod/go.sum files; helm and kubeconform are installed by version and need nothing else.
KUBERNETES_VERSION=1.36.3
ETCD_VERSION=3.6.8
HELM_VERSION=3.21.4
KUBECONFORM_VERSION=0.7.0
# The `go` line of the build modules; it sets the GODEBUG defaults the binaries run with, so it
# follows the go line of the Kubernetes release (1.36 uses go 1.26).
GO_LANGUAGE_VERSION=1.26.0
