// MeshHost: the Istio-compatible reference control plane (see README.md). The host itself is being built; this
// placeholder keeps the generator's project buildable.
return 0;
