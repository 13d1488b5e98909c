"""Test oracle for LZW as Go compress/lzw writes it (LSB, literal width 8), written independently of the Swift
code; it reproduces the LZW streams captured from serf. It produced lzw-*.lzw from lzw-*.in here. Also a small
msgpack reader used to inspect captures."""
import struct
def mp(b, i=0):
    t = b[i]; i += 1
    if t <= 0x7f: return t, i
    if t >= 0xe0: return t - 256, i
    if 0x80 <= t <= 0x8f: return mpmap(b, i, t & 15)
    if 0x90 <= t <= 0x9f: return mparr(b, i, t & 15)
    if 0xa0 <= t <= 0xbf: n = t & 31; return b[i:i+n], i+n
    if t == 0xc0: return None, i
    if t == 0xc2: return False, i
    if t == 0xc3: return True, i
    lens = {0xc4:1,0xd9:1,0xc5:2,0xda:2,0xc6:4,0xdb:4}
    if t in lens:
        k = lens[t]; n = int.from_bytes(b[i:i+k],'big'); i += k; return b[i:i+n], i+n
    u = {0xcc:1,0xcd:2,0xce:4,0xcf:8}
    if t in u: k=u[t]; return int.from_bytes(b[i:i+k],'big'), i+k
    s = {0xd0:1,0xd1:2,0xd2:4,0xd3:8}
    if t in s: k=s[t]; return int.from_bytes(b[i:i+k],'big',signed=True), i+k
    if t == 0xdc: n=int.from_bytes(b[i:i+2],'big'); return mparr(b,i+2,n)
    if t == 0xdd: n=int.from_bytes(b[i:i+4],'big'); return mparr(b,i+4,n)
    if t == 0xde: n=int.from_bytes(b[i:i+2],'big'); return mpmap(b,i+2,n)
    if t == 0xdf: n=int.from_bytes(b[i:i+4],'big'); return mpmap(b,i+4,n)
    if t == 0xcb: return struct.unpack('>d', b[i:i+8])[0], i+8
    if t == 0xca: return struct.unpack('>f', b[i:i+4])[0], i+4
    raise ValueError('type %x' % t)
def mparr(b, i, n):
    out = []
    for _ in range(n):
        v, i = mp(b, i); out.append(v)
    return out, i
def mpmap(b, i, n):
    out = []
    for _ in range(n):
        k, i = mp(b, i); v, i = mp(b, i); out.append((k, v))
    return out, i

def lzw_decode(data):
    bits = 0; nbits = 0; pos = 0; width = 9
    table = {}
    out = bytearray(); prev = None; nxt = 258
    def read():
        nonlocal bits, nbits, pos
        while nbits < width:
            if pos >= len(data): raise EOFError
            bits |= data[pos] << nbits; pos += 1; nbits += 8
        c = bits & ((1 << width) - 1); bits >>= width; nbits -= width
        return c
    while True:
        c = read()
        if c == 256:
            table = {}; width = 9; prev = None; nxt = 258; continue
        if c == 257: return bytes(out)
        if c < 256: entry = bytes([c])
        elif c in table: entry = table[c]
        elif c == nxt and prev is not None: entry = prev + prev[:1]
        else: raise ValueError('bad code %d' % c)
        out += entry
        if prev is not None and nxt < 4096:
            table[nxt] = prev + entry[:1]; nxt += 1
        elif prev is None:
            pass
        prev = entry
        # Go: after each code, hi+1; width grows when hi reaches 1<<width (early by one relative to table)
        if prev is not None and nxt + (0) >= (1 << width) and width < 12:
            width += 1

def lzw_encode(data):
    out = bytearray(); bits = 0; nbits = 0; width = 9
    def write(c):
        nonlocal bits, nbits
        bits |= c << nbits; nbits += width
        while nbits >= 8:
            out.append(bits & 255); bits >>= 8; nbits -= 8
    write(256)
    if not data:
        write(257)
        if nbits: out.append(bits & 255)
        return bytes(out)
    table = {}; hi = 257; w = data[:1]
    def inc():
        nonlocal hi, width, table
        hi += 1
        if hi == (1 << width): width += 1
        if hi == 4095:
            write(256); width = 9; hi = 257; table = {}; return True
        return False
    for x in data[1:]:
        k = w + bytes([x])
        if len(k) == 1 or k in table:
            w = k; continue
        write(table[w] if len(w) > 1 else w[0])
        w = bytes([x])
        if inc(): continue
        table[k] = hi
    write(table[w] if len(w) > 1 else w[0])
    inc()
    write(257)
    if nbits: out.append(bits & 255)
    return bytes(out)
