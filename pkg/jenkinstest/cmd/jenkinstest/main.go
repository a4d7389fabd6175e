// Command jenkinstest serves a Jenkins-compatible test server for demos.
//
// It uses the real clock, so queue items leave the queue after their quiet
// period and builds finish with SUCCESS after --build-duration. Secrets come
// from environment variables, never from flags, so they stay out of shell
// history and process lists:
//
//	JENKINS_PASSWORD=pw JENKINS_API_TOKEN=11aa jenkinstest --job test --job team/deploy --csrf
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchyard-dev/switchyard/pkg/jenkinstest"
)

// shutdownTimeout bounds how long in-flight requests may take after a
// signal before the program exits.
const shutdownTimeout = 5 * time.Second

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], logger)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		logger.Error("jenkinstest failed", "error", err)
		os.Exit(1)
	}
}

// options are the parsed command-line flags.
type options struct {
	addr          string
	user          string
	passwordEnv   string
	tokenEnv      string
	jobs          []string
	csrf          bool
	anonymousRead bool
	buildDuration time.Duration
}

// jobList is a repeatable string flag.
type jobList []string

func (jobs *jobList) String() string {
	return strings.Join(*jobs, ",")
}

func (jobs *jobList) Set(value string) error {
	if value == "" {
		return errors.New("job name is empty")
	}
	*jobs = append(*jobs, value)
	return nil
}

func parseFlags(args []string) (options, error) {
	var opts options
	var jobs jobList
	flags := flag.NewFlagSet("jenkinstest", flag.ContinueOnError)
	flags.StringVar(&opts.addr, "addr", "127.0.0.1:8080", "TCP `address` to listen on")
	flags.StringVar(&opts.user, "user", "admin", "name of the user who may log in")
	flags.StringVar(&opts.passwordEnv, "password-env", "JENKINS_PASSWORD",
		"environment `variable` holding the user's password; empty or unset means no password")
	flags.StringVar(&opts.tokenEnv, "token-env", "JENKINS_API_TOKEN",
		"environment `variable` holding the user's API token; empty or unset means no token")
	flags.Var(&jobs, "job",
		"full `name` of a job to serve, such as test or team/test, with parameters "+
			"after a colon, such as hello-world:BRANCH,COMMIT; repeatable (default test)")
	flags.BoolVar(&opts.csrf, "csrf", false,
		"require CSRF crumbs on POST requests not authenticated by an API token")
	flags.BoolVar(&opts.anonymousRead, "anonymous-read", false, "give anonymous callers read access")
	flags.DurationVar(&opts.buildDuration, "build-duration", 10*time.Second,
		"how long each build runs before it finishes with SUCCESS")
	if err := flags.Parse(args); err != nil {
		return options{}, err
	}
	if flags.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected arguments %q: all settings are flags", flags.Args())
	}

	opts.jobs = jobs
	if len(opts.jobs) == 0 {
		opts.jobs = []string{"test"}
	}
	if opts.buildDuration <= 0 {
		return options{}, fmt.Errorf("invalid --build-duration %v: it must be positive",
			opts.buildDuration)
	}
	return opts, nil
}

func run(ctx context.Context, args []string, logger *slog.Logger) error {
	opts, err := parseFlags(args)
	if err != nil {
		return err
	}
	server, err := newServer(opts)
	if err != nil {
		return err
	}

	listener, err := net.Listen("tcp", opts.addr)
	if err != nil {
		return fmt.Errorf("listening on %s failed: %w", opts.addr, err)
	}
	httpServer := &http.Server{
		Handler:           logRequests(server, logger),
		ReadHeaderTimeout: 10 * time.Second,
	}
	logger.Info("jenkinstest started", "addr", listener.Addr().String(), "user", opts.user,
		"jobs", strings.Join(opts.jobs, ","), "csrf", opts.csrf)

	served := make(chan error, 1)
	go func() { served <- httpServer.Serve(listener) }()

	select {
	case err := <-served:
		return fmt.Errorf("serving HTTP failed: %w", err)
	case <-ctx.Done():
	}

	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := httpServer.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down HTTP server failed: %w", err)
	}
	logger.Info("jenkinstest stopped")
	return nil
}

func newServer(opts options) (*jenkinstest.Server, error) {
	if opts.user == "" || strings.Contains(opts.user, ":") {
		return nil, fmt.Errorf("invalid --user %q: it must be non-empty and contain no colon", opts.user)
	}
	password := lookupEnv(opts.passwordEnv)
	token := lookupEnv(opts.tokenEnv)
	if password == "" && token == "" {
		return nil, fmt.Errorf("no credentials for user %s: set $%s or $%s",
			opts.user, opts.passwordEnv, opts.tokenEnv)
	}

	server := jenkinstest.New(jenkinstest.Config{
		CSRF:          opts.csrf,
		AnonymousRead: opts.anonymousRead,
		Now:           time.Now,
		BuildDuration: opts.buildDuration,
	})
	user := jenkinstest.User{Password: password}
	if token != "" {
		user.APITokens = []string{token}
	}
	server.AddUser(opts.user, user)

	for _, spec := range opts.jobs {
		name, params, _ := strings.Cut(spec, ":")
		if err := validateJobName(name); err != nil {
			return nil, err
		}
		job := jenkinstest.Job{}
		for _, p := range strings.Split(params, ",") {
			if p != "" {
				job.Params = append(job.Params, jenkinstest.Param{Name: p})
			}
		}
		server.AddJob(name, job)
	}
	return server, nil
}

func validateJobName(name string) error {
	for _, segment := range strings.Split(name, "/") {
		if segment == "" {
			return fmt.Errorf("invalid --job %q: folder and job names must be non-empty", name)
		}
	}
	return nil
}

func lookupEnv(name string) string {
	if name == "" {
		return ""
	}
	return os.Getenv(name)
}

// statusRecorder keeps the status code that a handler sends.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (recorder *statusRecorder) WriteHeader(status int) {
	recorder.status = status
	recorder.ResponseWriter.WriteHeader(status)
}

// logRequests logs the method, path and status of every request. It leaves
// out the query string, headers and body, because they can carry trigger
// tokens, credentials and crumbs.
func logRequests(next http.Handler, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		recorder := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(recorder, r)
		logger.Info("request handled", "method", r.Method, "path", r.URL.Path, "status", recorder.status)
	})
}
