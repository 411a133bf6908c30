// Command tcpconn loads a DNS server with one query per TCP connection, as
// stub resolvers and many monitoring probes do: each of its workers
// connects, sends one query from the query file, reads the reply, closes
// and starts over. dnsperf can do the same (-O num-queries-per-conn=1) but
// reconnects too slowly to load a server. bench/dns-qps.sh (MODE=tcp1)
// runs it; it prints its figures in dnsperf's words, so that the script
// reads both alike.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

func main() {
	server := flag.String("s", "127.0.0.1:53", "server address, host:port")
	file := flag.String("d", "", "query file: one \"name type\" a line, as dnsperf's")
	seconds := flag.Int("l", 10, "seconds to run")
	workers := flag.Int("c", 32, "connections at once")
	timeout := flag.Duration("t", time.Second, "how long a connection may take")
	flag.Parse()
	queries, err := load(*file)
	if err != nil {
		fmt.Fprintln(os.Stderr, "tcpconn:", err)
		os.Exit(1)
	}
	var done, lost atomic.Int64
	stop := time.Now().Add(time.Duration(*seconds) * time.Second)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range *workers {
		wg.Go(func() {
			for i := w; time.Now().Before(stop); i += *workers {
				if err := ask(*server, queries[i%len(queries)], *timeout); err != nil {
					lost.Add(1)
					continue
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	fmt.Printf("  Queries completed:    %d\n", done.Load())
	fmt.Printf("  Queries lost:         %d\n", lost.Load())
	fmt.Printf("  Queries per second:   %f\n", float64(done.Load())/elapsed)
}

// load packs every query of the file, with its TCP length prefix and EDNS0
// (dnsperf -e).
func load(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 2 {
			continue
		}
		t, ok := dns.StringToType[strings.ToUpper(fields[1])]
		if !ok {
			return nil, fmt.Errorf("%s: unknown type %q", path, fields[1])
		}
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(fields[0]), t)
		m.RecursionDesired = false
		m.SetEdns0(4096, false)
		b, err := m.Pack()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, append(binary.BigEndian.AppendUint16(nil, uint16(len(b))), b...))
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no queries")
	}
	return out, nil
}

// ask sends q on a new connection and reads the whole reply.
func ask(server string, q []byte, timeout time.Duration) error {
	c, err := net.DialTimeout("tcp", server, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := c.Write(q); err != nil {
		return err
	}
	var buf [2 + 65535]byte
	if _, err := io.ReadFull(c, buf[:2]); err != nil {
		return err
	}
	_, err = io.ReadFull(c, buf[2:2+int(binary.BigEndian.Uint16(buf[:2]))])
	return err
}
