package providers

// LayerLock is what the lock file (mlops.lock.hcl) pins for one layer. A
// layer uses it only when it installs: an existing machine is never
// changed to match the lock.
type LayerLock struct {
	// Packages maps a package name to the exact version to install when
	// the configuration does not pin one (name=version).
	Packages map[string]string
	// Downloads maps a URL to the sha256 its download must have when the
	// configuration gives no sha256.
	Downloads map[string]string
}

// LockFacts are what a layer reports, after it ran, for the lock file.
type LockFacts struct {
	// Packages maps each of the layer's packages to the version installed
	// on the host, read back after the install (nil: the layer installs no
	// packages).
	Packages map[string]string
	// Downloads maps each URL the layer downloaded to the sha256 of what
	// it received.
	Downloads map[string]string
}
