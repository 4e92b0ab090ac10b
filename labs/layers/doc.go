// Package layers is the layers lab: one netlab message wrapped layer by
// layer the way it leaves the machine — the application's bytes, a TCP or
// UDP header, an IPv4 header and the link-layer (Ethernet) header that
// Linux's loopback interface uses — each as annotated bytes beside its
// place in the OSI and TCP/IP models.
//
// Packets are built with gopacket's layers and SerializeLayers (real
// lengths and checksums) and annotated by decoding the bytes back with
// gopacket. Capture (Linux, root) records the real packets of a short echo
// on the loopback interface with an AF_PACKET socket.
package layers
