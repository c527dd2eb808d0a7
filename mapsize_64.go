//go:build !(386 || arm || mips || mipsle)

package main

// maxMapSize leaves bbolt's memory map unbounded on 64-bit systems.
const maxMapSize = 0
