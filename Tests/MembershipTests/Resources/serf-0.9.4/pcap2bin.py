import struct, sys, os
def packets(path):
    data = open(path,'rb').read()
    magic, = struct.unpack('<I', data[:4])
    assert magic == 0xa1b2c3d4, hex(magic)
    linktype, = struct.unpack('<I', data[20:24])
    off = 24
    while off < len(data):
        ts, tu, incl, orig = struct.unpack('<IIII', data[off:off+16]); off += 16
        frame = data[off:off+incl]; off += incl
        if linktype == 1: ip = frame[14:]
        elif linktype == 113: ip = frame[16:]
        else: ip = frame
        if ip[0] >> 4 != 4: continue
        ihl = (ip[0] & 15) * 4
        proto = ip[9]
        tot = struct.unpack('>H', ip[2:4])[0]
        body = ip[ihl:tot]
        yield proto, body
def main(d):
    udp = []; streams = {}
    for proto, body in packets(os.path.join(d,'cap.pcap')):
        sp, dp = struct.unpack('>HH', body[:4])
        if proto == 17:
            udp.append((sp, dp, body[8:]))
        elif proto == 6:
            seq, = struct.unpack('>I', body[4:8])
            doff = (body[12] >> 4) * 4
            payload = body[doff:]
            if payload:
                streams.setdefault((sp, dp), {})[seq] = payload
    out = os.path.join(d, 'bin'); os.makedirs(out, exist_ok=True)
    for i, (sp, dp, p) in enumerate(udp):
        open(os.path.join(out, 'udp-%03d-%d-%d.bin' % (i, sp, dp)), 'wb').write(p)
    for i, ((sp, dp), segs) in enumerate(sorted(streams.items())):
        b = b''.join(segs[k] for k in sorted(segs))
        open(os.path.join(out, 'tcp-%d-%d.bin' % (sp, dp)), 'wb').write(b)
    print(d, len(udp), 'udp', len(streams), 'tcp streams')
main(sys.argv[1])
