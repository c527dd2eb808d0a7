//go:build 386 || arm || mips || mipsle

package main

// maxMapSize caps bbolt's memory map at 1 GiB on 32-bit systems, which
// cannot map more address space than that in one piece; the database then
// holds a few million events at most.
const maxMapSize = 1 << 30
