// Command rrlflood floods a DNS server over UDP from one source address, as
// a reflection attack with a spoofed source would, and reports what came
// back to that source: replies per second, how many were truncated slips,
// and the amplification by bytes (reply bytes out of the server over query
// bytes into it). bench/rrl.sh runs it against detour and Knot DNS.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// result is what one flood saw.
type result struct {
	sent, replies, slips int
	bytesIn, bytesOut    int
	elapsed              time.Duration
}

func main() {
	server := flag.String("server", "127.0.0.1:53", "server address, host:port")
	from := flag.String("from", "127.0.0.1", "source address of the flood")
	qps := flag.Int("qps", 5000, "queries per second")
	duration := flag.Duration("duration", 5*time.Second, "how long to flood")
	name := flag.String("name", "big.bench.test.", "query name; a leading '*.' asks a random name under the rest each time")
	qtype := flag.String("type", "TXT", "query type")
	label := flag.String("label", "", "label printed before the figures")
	flag.Parse()
	t, ok := dns.StringToType[strings.ToUpper(*qtype)]
	if !ok {
		fmt.Fprintf(os.Stderr, "rrlflood: unknown type %q\n", *qtype)
		os.Exit(2)
	}
	res, err := flood(*server, *from, *name, t, *qps, *duration)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rrlflood:", err)
		os.Exit(1)
	}
	secs := res.elapsed.Seconds()
	amp := 0.0
	if res.bytesIn > 0 {
		amp = float64(res.bytesOut) / float64(res.bytesIn)
	}
	fmt.Printf("%-18s queries %6.0f/s  replies %7.1f/s (answers %6.1f/s, TC slips %6.1f/s)  bytes in %8d out %8d  amplification x%.2f\n",
		*label, float64(res.sent)/secs, float64(res.replies)/secs, float64(res.replies-res.slips)/secs,
		float64(res.slips)/secs, res.bytesIn, res.bytesOut, amp)
}

// flood sends qps queries a second for d from the address from, and counts
// the replies until a second after the last query.
func flood(server, from, name string, t uint16, qps int, d time.Duration) (result, error) {
	raddr, err := net.ResolveUDPAddr("udp", server)
	if err != nil {
		return result{}, err
	}
	c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, raddr)
	if err != nil {
		return result{}, err
	}
	defer c.Close()
	_ = c.SetReadBuffer(8 << 20)
	var res result
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		receive(ctx, c, &res)
	}()
	start := time.Now()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	perTick := max(qps/100, 1)
	for time.Since(start) < d {
		for range perTick {
			msg, err := pack(name, t)
			if err != nil {
				return res, err
			}
			if _, err := c.Write(msg); err == nil {
				res.sent++
				res.bytesIn += len(msg)
			}
		}
		<-tick.C
	}
	res.elapsed = time.Since(start)
	time.Sleep(time.Second) // the last replies
	_ = c.SetReadDeadline(time.Now())
	wg.Wait()
	return res, nil
}

// receive counts replies until the socket's deadline passes.
func receive(ctx context.Context, c *net.UDPConn, res *result) {
	buf := make([]byte, 65535)
	for ctx.Err() == nil {
		n, err := c.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		res.replies++
		res.bytesOut += n
		if n > 3 && buf[2]&0x02 != 0 {
			res.slips++
		}
	}
}

// pack builds a query with EDNS (4096), as an amplification attack asks
// for the largest replies.
func pack(name string, t uint16) ([]byte, error) {
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		name = fmt.Sprintf("r%x.%s", rand.Uint64(), rest)
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.Id = uint16(rand.Uint32())
	m.SetEdns0(4096, false)
	return m.Pack()
}
