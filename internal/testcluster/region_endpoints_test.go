package testcluster

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRegionEndpointsProcess is not a test: run with regionEndpointsEnv
// set to the open-file limit it needs, it serves one HTTP listener per
// datacenter on loopback, prints "ADDR dc host:port" for each and
// "READY", then obeys its standard input line by line: "kill dc" closes
// that datacenter's server and its connections ("KILLED dc"), "count"
// prints "COUNT probes cpu-ns" (probes answered, its own CPU); it exits
// when its input closes.
func TestRegionEndpointsProcess(t *testing.T) {
	limit, _ := strconv.ParseUint(os.Getenv(regionEndpointsEnv), 10, 64)
	if limit == 0 {
		t.Skip("helper process for the region tests")
	}
	if err := raiseFileLimit(limit); err != nil {
		fmt.Println("ERROR", err)
		return
	}
	var served atomic.Int64
	srvs := map[string]*http.Server{}
	dead := map[string]*atomic.Bool{}
	for _, dc := range Datacenters {
		// A lost datacenter stops answering at once: closing its
		// server closes thousands of kept connections one by one, which
		// took up to 0.4 s on a loaded machine, while they answered.
		gone := &atomic.Bool{}
		dead[dc] = gone
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if gone.Load() {
				panic(http.ErrAbortHandler) // the connection closed, no answer
			}
			served.Add(1)
			w.Write([]byte("ok\n"))
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Println("ERROR", err)
			return
		}
		srvs[dc] = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		go srvs[dc].Serve(ln)
		fmt.Println("ADDR", dc, ln.Addr())
	}
	fmt.Println("READY")
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch cmd, arg, _ := strings.Cut(in.Text(), " "); cmd {
		case "kill":
			if s := srvs[arg]; s != nil {
				dead[arg].Store(true)
				fmt.Println("KILLED", arg)
				s.Close()
				continue
			}
			fmt.Println("KILLED", arg)
		case "count":
			fmt.Println("COUNT", served.Load(), int64(processCPU()))
		}
	}
}
