// natsgo_micro: the benchmarks' nats.go `micro` baseline (Debian's
// golang-github-nats-io-go-nats-dev 1.22.1): a service with one endpoint
// that answers each request with its own body, as the request benchmark's
// echo does, so a paired loop can call it and micro-nats alike.
//
// Usage: natsgo_micro NATS_URL SUBJECT
//
// Prints "ready SUBJECT" on stdout once its subscription has reached the
// server (flushed), and serves until SIGTERM or SIGINT, or until its stdin
// closes when stdin is a pipe (the parent died: no orphan keeps serving).
package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

func fail(err error) {
	fmt.Fprintln(os.Stderr, "natsgo_micro:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: natsgo_micro NATS_URL SUBJECT")
		os.Exit(2)
	}
	url, subject := os.Args[1], os.Args[2]
	nc, err := nats.Connect(url, nats.Name("natsgo_micro"))
	if err != nil {
		fail(err)
	}
	defer nc.Close()
	svc, err := micro.AddService(nc, micro.Config{
		Name:        "natsgo_micro",
		Version:     "1.0.0",
		Description: "echo baseline for bench/",
		Endpoint: micro.Endpoint{
			Subject: subject,
			Handler: func(req *micro.Request) { req.Respond(req.Data()) },
		},
	})
	if err != nil {
		fail(err)
	}
	// Ready means a request sent now is answered: the SUB is at the server.
	if err := nc.Flush(); err != nil {
		fail(err)
	}
	fmt.Println("ready", subject)
	os.Stdout.Sync()

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	if info, err := os.Stdin.Stat(); err == nil && info.Mode()&os.ModeNamedPipe != 0 {
		go func() {
			io.Copy(io.Discard, os.Stdin)
			stop <- syscall.SIGTERM
		}()
	}
	<-stop
	svc.Stop()
}
