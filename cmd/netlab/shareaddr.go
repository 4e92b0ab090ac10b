package main

import (
	"net"
	"net/netip"

	"github.com/netlab/netlab/labs/hostaddr"
)

// chatLinesPort is the chat server's default nc port: not 8081, which is
// `netlab ws serve`'s.
const chatLinesPort = "7500"

// The addresses a server gives out (labs/hostaddr).
func followHost(listen, port string) string        { return hostaddr.Follow(listen, port) }
func machineAddrs(v4only bool) []netip.Addr        { return hostaddr.Machine(v4only) }
func shareAddrs(addr string) []string              { return hostaddr.Share(addr) }
func listenedOn(asked string, got net.Addr) string { return hostaddr.ListenedOn(asked, got) }
func otherAddrs(addrs []string) string             { return hostaddr.Others(addrs) }
