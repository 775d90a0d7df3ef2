package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/wardhq/ward/instance"
	"github.com/wardhq/ward/mailcheck"
)

// Exit statuses of ward check-mail, for scripts: 0 when the mail is
// genuine or shows no sign, these when it is not (1 is an error, 2 a bad
// command line).
const (
	exitSuspicious = 3
	exitPhishing   = 4
)

// exitStatus ends the program with a status after its output was
// written: not an error, a verdict.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// verdictStatus is the exit status a verdict gives.
func verdictStatus(v mailcheck.Verdict) error {
	switch v {
	case mailcheck.Phishing:
		return exitStatus(exitPhishing)
	case mailcheck.Suspicious:
		return exitStatus(exitSuspicious)
	}
	return nil
}

// checkMailCmd: ward check-mail [--json] [--lang ja|en] FILE|-, or
// ward check-mail --eval DIR... for a detection report over folders.
func checkMailCmd(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("check-mail", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	asJSON := fs.Bool("json", false, "print the report as JSON")
	lang := fs.String("lang", "en", "language of the reasons: en or ja")
	eval := fs.Bool("eval", false, "evaluate every file in the given folders and print detection rates")
	c, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	if fs.NArg() == 0 || *lang != "en" && *lang != "ja" {
		return errUsage
	}
	if *eval {
		// The corpus is other people's mail: no store, no DNS, nothing of
		// this instance is touched.
		ch := instance.MailChecker(c, nil, nil, nil, nil)
		ch.Own, ch.LookupTXT = nil, nil
		ev, err := ch.Evaluate(ctx, fs.Args()...)
		if err != nil {
			return err
		}
		ev.Write(stdout)
		return nil
	}
	if fs.NArg() != 1 {
		return errUsage
	}
	var raw []byte
	if fs.Arg(0) == "-" {
		raw, err = io.ReadAll(io.LimitReader(stdin, 10<<20))
	} else {
		raw, err = os.ReadFile(fs.Arg(0))
	}
	if err != nil {
		return fmt.Errorf("reading the message: %w", err)
	}
	in, err := instance.New(ctx, c, slog.New(slog.NewTextHandler(io.Discard, nil)), instance.Options{})
	if err != nil {
		return err
	}
	defer in.Store.Close()
	rep, err := in.MailCheck.Check(ctx, raw)
	if err != nil {
		return err
	}
	rep = rep.Localize(*lang)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(struct {
			mailcheck.Report
			Headline string `json:"headline"`
		}{rep, rep.Verdict.Headline(*lang)}); err != nil {
			return err
		}
		return verdictStatus(rep.Verdict)
	}
	fmt.Fprintln(stdout, rep.Verdict.Headline(*lang))
	if rep.Sent != nil {
		fmt.Fprintf(stdout, "  %s → %s, %s (%s)\n", rep.Brand, rep.Sent.To, rep.Sent.At.Format("2006-01-02 15:04 MST"), rep.Sent.Purpose)
	}
	for _, r := range rep.Reasons {
		mark := "-"
		if r.Weight > 0 {
			mark = "!"
		}
		fmt.Fprintf(stdout, "  %s %s\n", mark, r.Text)
	}
	return verdictStatus(rep.Verdict)
}
