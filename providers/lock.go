package providers

import "time"

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
	// Upgrade is set by -upgrade: the layer's probe also reports the
	// version of each package that the host's package lists offer (its
	// candidate), a package installed at another version makes the layer
	// out of date, and its action installs the candidate.
	Upgrade bool
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

// UpgradeFacts are what a probe with -upgrade found for one layer's
// packages, from the host's package lists as its last apt-get update left
// them: a probe never updates them, since it must not change the host.
type UpgradeFacts struct {
	// Candidates maps each package the configuration does not pin to the
	// version apt would install now ("" when the lists offer none).
	Candidates map[string]string
	// Installed maps each of those packages to its installed version (""
	// when it is not installed).
	Installed map[string]string
	// ListsDate is the date of the host's newest package list (zero when
	// it has none), which says how old the candidates may be.
	ListsDate time.Time
}
