package layers

// probeFirstCommand reports the first line of ~/.bashrc that is neither
// blank nor a comment, with bash builtins: the docker_compose layer's PATH
// line must be that line, above the early return that Ubuntu's and Debian's
// ~/.bashrc make for non-interactive shells (`case $- in *i*) ;; *) return;;
// esac`), or commands sent over SSH never see it.
func probeFirstCommand(w *script) {
	w.line(`first=`)
	w.line(`if [ -r "$HOME/.bashrc" ]; then`)
	w.line(`  while IFS= read -r l || [ -n "$l" ]; do`)
	w.line(`    t=${l#"${l%%[![:space:]]*}"}`)
	w.line(`    case $t in ''|'#'*) continue ;; esac`)
	w.line(`    first=$l`)
	w.line(`    break`)
	w.line(`  done <"$HOME/.bashrc"`)
	w.line(`fi`)
	w.fact("firstcmd", `"$first"`)
}
