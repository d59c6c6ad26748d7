package layers

// The anaconda layer's probe reads what it needs from the installation's
// files, with bash builtins, and never starts conda: the real conda is a
// Python program that takes 0.3-1 s to answer --version, on every plan.
//
// conda keeps one record per installed package in PREFIX/conda-meta, named
// NAME-VERSION-BUILD.json (conda-4.12.0-py39h06a4308_0.json in Anaconda3
// 2022.05); an update replaces the record. conda's own is the only one that
// matches conda-[0-9]*.json: conda-build, conda-package-handling and the
// other conda-* packages have a letter after the dash. Conda versions never
// hold a dash, so the version ends at the next one.
//
// Whether conda can start at all is read from its #! line: bin/conda names
// the installation's Python, and an installation whose Python is gone
// cannot run it.

// probeConda writes the facts of an installation whose bin/conda is
// executable, at "$p": version (the versions of the conda records found,
// space-separated; normally one), interp (the interpreter bin/conda names)
// and runs (that interpreter is executable), and init (~/.bashrc has conda
// init's block for this installation).
func probeConda(w *script) {
	w.line(`  v= sb=`)
	w.line(`  for m in "$p"/conda-meta/conda-[0-9]*.json; do`)
	w.line(`    [ -f "$m" ] || continue`)
	w.line(`    m=${m##*/conda-meta/conda-}`)
	w.line(`    v+="${v:+ }${m%%-*}"`)
	w.line(`  done`)
	w.line(`  __mlops_fact version "$v"`)
	w.line(`  { IFS= read -r sb <"$p/bin/conda"; } 2>/dev/null`)
	w.line(`  if [[ $sb == '#!'* ]]; then sb=${sb#'#!'}; sb=${sb#"${sb%%[! ]*}"}; sb=${sb%% *}; else sb=; fi`)
	w.line(`  __mlops_fact interp "$sb"`)
	w.flag("runs", `[ -n "$sb" ] && [ -x "$sb" ]`)
	// conda init bash writes its block at the end of ~/.bashrc, between
	// these marker lines; the block runs "$p/bin/conda" shell.bash hook.
	w.line(`  init= inblock=`)
	w.line(`  if [ -r "$HOME/.bashrc" ]; then`)
	w.line(`    while IFS= read -r l || [ -n "$l" ]; do`)
	w.line(`      case $l in`)
	w.line(`        '# >>> conda initialize >>>') inblock=1 ;;`)
	w.line(`        '# <<< conda initialize <<<') inblock= ;;`)
	w.line(`        *) if [ -n "$inblock" ] && [[ $l == *"$p/bin/conda"* ]]; then init=1; fi ;;`)
	w.line(`      esac`)
	w.line(`    done <"$HOME/.bashrc"`)
	w.line(`  fi`)
	w.line(`  __mlops_fact init "$init"`)
}

// installReasons says what is wrong with an installation whose bin/conda
// exists (nil: nothing), after which the installer runs again (-u).
func (s *anacondaSpec) installReasons(f facts) []string {
	conda := joinPath(s.prefix, "bin/conda")
	switch {
	case f["interp"] == "":
		return []string{conda + " has no #! line"}
	case !f.flag("runs"):
		return []string{conda + " cannot run: its interpreter " + f["interp"] + " is missing"}
	case f["version"] == "":
		return []string{"no conda package record in " + joinPath(s.prefix, "conda-meta")}
	}
	return nil
}

// initReasons says whether conda init has to run for bash.
func (s *anacondaSpec) initReasons(f facts) []string {
	if f.flag("init") {
		return nil
	}
	return []string{"conda init not run for bash (no conda initialize block in ~/.bashrc)"}
}

// condaInit writes the line that runs conda init for the SSH user's bash:
// it adds the block that puts conda on PATH in interactive shells, as the
// course's manual install does when it answers yes. It is idempotent
// (conda leaves a current block alone).
func condaInit(w *script) {
	w.line(`"$p/bin/conda" init bash`)
}
