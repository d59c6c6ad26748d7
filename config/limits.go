package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// Limits on input, so that no file, variable or function argument can
// exhaust the memory or the stack of mlops.
const (
	// MaxFileSize bounds a configuration file, a variables file and what
	// file() reads.
	MaxFileSize = 16 << 20
	// MaxNesting bounds the nesting of brackets, template interpolations,
	// unary operators and conditionals in one expression. The HCL parser
	// recurses once per level; configurations written by people nest a
	// handful of levels.
	MaxNesting = 256
)

// readSource reads a configuration or variables file of at most
// MaxFileSize bytes. A pipe or FIFO (-var-file <(...)) may block until a
// writer comes; the read is abandoned when ctx ends, so that Ctrl-C and
// SIGTERM end mlops.
func readSource(ctx context.Context, path string) ([]byte, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if fi.Mode().IsRegular() {
		if fi.Size() > MaxFileSize {
			return nil, fmt.Errorf("the file has %d bytes, more than the limit of %d", fi.Size(), MaxFileSize)
		}
		return readLimited(path) // a regular file does not block
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := readLimited(path)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-ctx.Done():
		// The reader may stay blocked in open or read; the process is
		// about to end, and the goroutine with it.
		return nil, fmt.Errorf("interrupted while reading it: %w", ctx.Err())
	}
}

// errTooLarge: the file grew past MaxFileSize while it was read.
var errTooLarge = fmt.Errorf("the file has more than %d bytes, the limit", MaxFileSize)

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, errTooLarge
	}
	return b, nil
}

// readRegularFile is file()'s reader: only regular files (after following
// symbolic links), at most MaxFileSize bytes. A FIFO, a device (/dev/zero)
// or a directory is refused before it is opened.
func readRegularFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, unwrapPathErr(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("it is not a regular file (%s)", fileKind(fi.Mode()))
	}
	if fi.Size() > MaxFileSize {
		return nil, fmt.Errorf("it has %d bytes, more than the limit of %d", fi.Size(), MaxFileSize)
	}
	b, err := readLimited(path)
	if errors.Is(err, errTooLarge) {
		return nil, err
	}
	return b, unwrapPathErr(err)
}

func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// CheckNesting reports a diagnostic when src, a configuration file, nests
// deeper than MaxNesting. It runs the HCL lexer, which does not recurse,
// so that the parser, which does, never sees such input.
func CheckNesting(src []byte, filename string) hcl.Diagnostics {
	toks, _ := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	return checkTokens(toks)
}

// CheckExpressionNesting is CheckNesting for one expression (-var values,
// MLOPS_VAR_*).
func CheckExpressionNesting(src []byte, filename string) hcl.Diagnostics {
	toks, _ := hclsyntax.LexExpression(src, filename, hcl.InitialPos)
	return checkTokens(toks)
}

// checkTokens measures nesting over the tokens: every opening bracket,
// quote, interpolation and template directive opens a level until it is
// closed; unary operators and conditionals each add a level to the item
// they are in, which ends at a comma, or at a newline in a body or an
// object (inside parentheses and brackets a newline ends nothing).
func checkTokens(toks hclsyntax.Tokens) hcl.Diagnostics {
	type level struct {
		open  hclsyntax.TokenType
		exprs int // unary operators and conditionals of the current item
	}
	stack := []level{{open: hclsyntax.TokenOBrace}} // the file's body
	depth := 0                                      // len(stack)-1 plus the exprs of every level
	resetItem := func() {
		top := &stack[len(stack)-1]
		depth -= top.exprs
		top.exprs = 0
	}
	for _, t := range toks {
		switch t.Type {
		case hclsyntax.TokenOParen, hclsyntax.TokenOBrack, hclsyntax.TokenOBrace,
			hclsyntax.TokenTemplateInterp, hclsyntax.TokenTemplateControl, hclsyntax.TokenOQuote, hclsyntax.TokenOHeredoc:
			stack = append(stack, level{open: t.Type})
			depth++
		case hclsyntax.TokenCParen, hclsyntax.TokenCBrack, hclsyntax.TokenCBrace,
			hclsyntax.TokenTemplateSeqEnd, hclsyntax.TokenCQuote, hclsyntax.TokenCHeredoc:
			if len(stack) > 1 {
				resetItem()
				stack = stack[:len(stack)-1]
				depth--
			}
		case hclsyntax.TokenBang, hclsyntax.TokenMinus, hclsyntax.TokenQuestion:
			stack[len(stack)-1].exprs++
			depth++
		case hclsyntax.TokenComma:
			resetItem()
		case hclsyntax.TokenNewline:
			if stack[len(stack)-1].open == hclsyntax.TokenOBrace {
				resetItem()
			}
		}
		if depth > MaxNesting {
			r := t.Range
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Nesting too deep",
				Detail: fmt.Sprintf("Expressions may nest at most %d levels (brackets, interpolations, unary operators, conditionals); this one goes deeper here.",
					MaxNesting),
				Subject: &r,
			}}
		}
	}
	return nil
}
