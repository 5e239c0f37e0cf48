// goecho: a service written with nats.go's `micro` package (Debian's
// golang-github-nats-io-go-nats-dev 1.22.1, the draft before ADR-32 v1),
// for registry/srv's tests: it echoes the request, and answers "fail"
// with a service error (code 418).
//
// Usage: goecho NATS_URL
package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goecho NATS_URL")
		os.Exit(2)
	}
	nc, err := nats.Connect(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "goecho:", err)
		os.Exit(1)
	}
	defer nc.Close()
	echo := func(req *micro.Request) {
		if string(req.Data()) == "fail" {
			req.Error("418", "I'm a teapot", nil)
			return
		}
		req.Respond(req.Data())
	}
	svc, err := micro.AddService(nc, micro.Config{
		Name:        "goecho",
		Version:     "1.2.3",
		Description: "echoes what it gets",
		Endpoint:    micro.Endpoint{Subject: "goecho.echo", Handler: echo},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "goecho:", err)
		os.Exit(1)
	}
	fmt.Println("ready", svc.Info().ID)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	<-stop
	svc.Stop()
}
