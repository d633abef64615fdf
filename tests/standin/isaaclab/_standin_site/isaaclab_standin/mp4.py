"""A tiny but valid MP4 (H.264 baseline, 16x16 I_PCM frames) built by hand.

It stands in for the videos gymnasium's RecordVideo writes; it is a
placeholder (a moving grey bar), not a rendering. Layout: ftyp, moov
(mvhd, trak/mdia/minf/stbl with an avc1+avcC sample entry), mdat. Each
sample is one IDR access unit whose only macroblock is I_PCM, so no
entropy coding is needed and any H.264 decoder accepts it.
"""

from __future__ import annotations

import struct

WIDTH = HEIGHT = 16
TIMESCALE = 30  # media ticks per second (the video "fps")


class _Bits:
    def __init__(self) -> None:
        self.bits: list[int] = []

    def u(self, n: int, value: int) -> None:
        self.bits.extend((value >> (n - 1 - i)) & 1 for i in range(n))

    def ue(self, value: int) -> None:
        code = value + 1
        n = code.bit_length()
        self.u(n - 1, 0)
        self.u(n, code)

    def se(self, value: int) -> None:
        self.ue(2 * value - 1 if value > 0 else -2 * value)

    def align_zero(self) -> None:
        while len(self.bits) % 8:
            self.bits.append(0)

    def trailing(self) -> None:
        self.bits.append(1)
        self.align_zero()

    def raw(self, data: bytes) -> None:
        assert len(self.bits) % 8 == 0
        for byte in data:
            self.u(8, byte)

    def to_bytes(self) -> bytes:
        assert len(self.bits) % 8 == 0
        out = bytearray()
        for i in range(0, len(self.bits), 8):
            byte = 0
            for bit in self.bits[i : i + 8]:
                byte = (byte << 1) | bit
            out.append(byte)
        return bytes(out)


def _nal(header: int, rbsp: bytes) -> bytes:
    """NAL unit with emulation prevention bytes."""
    out = bytearray([header])
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sps() -> bytes:
    b = _Bits()
    b.u(8, 66)  # profile_idc: baseline
    b.u(8, 0xC0)  # constraint_set0/1 (constrained baseline)
    b.u(8, 10)  # level 1.0
    b.ue(0)  # seq_parameter_set_id
    b.ue(0)  # log2_max_frame_num_minus4
    b.ue(2)  # pic_order_cnt_type
    b.ue(1)  # max_num_ref_frames
    b.u(1, 0)  # gaps_in_frame_num_value_allowed_flag
    b.ue(WIDTH // 16 - 1)
    b.ue(HEIGHT // 16 - 1)
    b.u(1, 1)  # frame_mbs_only_flag
    b.u(1, 1)  # direct_8x8_inference_flag
    b.u(1, 0)  # frame_cropping_flag
    b.u(1, 0)  # vui_parameters_present_flag
    b.trailing()
    return _nal(0x67, b.to_bytes())


def _pps() -> bytes:
    b = _Bits()
    b.ue(0)  # pic_parameter_set_id
    b.ue(0)  # seq_parameter_set_id
    b.u(1, 0)  # entropy_coding_mode_flag (CAVLC)
    b.u(1, 0)  # bottom_field_pic_order_in_frame_present_flag
    b.ue(0)  # num_slice_groups_minus1
    b.ue(0)  # num_ref_idx_l0_default_active_minus1
    b.ue(0)  # num_ref_idx_l1_default_active_minus1
    b.u(1, 0)  # weighted_pred_flag
    b.u(2, 0)  # weighted_bipred_idc
    b.se(0)  # pic_init_qp_minus26
    b.se(0)  # pic_init_qs_minus26
    b.se(0)  # chroma_qp_index_offset
    b.u(1, 1)  # deblocking_filter_control_present_flag
    b.u(1, 0)  # constrained_intra_pred_flag
    b.u(1, 0)  # redundant_pic_cnt_present_flag
    b.trailing()
    return _nal(0x68, b.to_bytes())


def _idr_frame(index: int) -> bytes:
    b = _Bits()
    b.ue(0)  # first_mb_in_slice
    b.ue(7)  # slice_type: I (all slices)
    b.ue(0)  # pic_parameter_set_id
    b.u(4, 0)  # frame_num
    b.ue(index % 2)  # idr_pic_id (consecutive IDRs differ)
    b.u(1, 0)  # no_output_of_prior_pics_flag
    b.u(1, 0)  # long_term_reference_flag
    b.se(0)  # slice_qp_delta
    b.ue(1)  # disable_deblocking_filter_idc
    b.ue(25)  # mb_type: I_PCM
    b.align_zero()  # pcm_alignment_zero_bit
    bar = (index * 2) % WIDTH
    luma = bytes(235 if abs(x - bar) <= 1 else 40 + 8 * y for y in range(HEIGHT) for x in range(WIDTH))
    b.raw(luma)
    b.raw(bytes([128]) * (WIDTH * HEIGHT // 2))  # Cb then Cr, 4:2:0
    b.trailing()  # rbsp_slice_trailing_bits
    return _nal(0x65, b.to_bytes())


def _box(kind: bytes, *payload: bytes) -> bytes:
    data = b"".join(payload)
    return struct.pack(">I", 8 + len(data)) + kind + data


def _full(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", (version << 24) | flags), *payload)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)


def make_mp4(frames: int = 8, duration_frames: int | None = None) -> bytes:
    """Return MP4 bytes with `frames` samples lasting `duration_frames` ticks at 30 fps."""
    frames = max(1, int(frames))
    duration_frames = max(frames, int(duration_frames or frames))
    delta = max(1, duration_frames // frames)
    media_duration = delta * frames
    movie_duration = media_duration * 1000 // TIMESCALE
    sps, pps = _sps(), _pps()
    samples = []
    for i in range(frames):
        nal = _idr_frame(i)
        samples.append(struct.pack(">I", len(nal)) + nal)

    ftyp = _box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isom", b"iso2", b"avc1", b"mp41")

    avcc = _box(
        b"avcC",
        bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]),
        struct.pack(">H", len(sps)),
        sps,
        bytes([1]),
        struct.pack(">H", len(pps)),
        pps,
    )
    avc1 = _box(
        b"avc1",
        bytes(6),
        struct.pack(">H", 1),
        bytes(16),
        struct.pack(">HHIIIH", WIDTH, HEIGHT, 0x00480000, 0x00480000, 0, 1),
        bytes([len(b"isaacctl stand-in")]) + b"isaacctl stand-in".ljust(31, b"\0"),
        struct.pack(">Hh", 0x18, -1),
        avcc,
    )

    def moov(chunk_offset: int) -> bytes:
        stbl = _box(
            b"stbl",
            _full(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
            _full(b"stts", 0, 0, struct.pack(">III", 1, frames, delta)),
            _full(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, frames, 1)),
            _full(b"stsz", 0, 0, struct.pack(">II", 0, frames), b"".join(struct.pack(">I", len(s)) for s in samples)),
            _full(b"stco", 0, 0, struct.pack(">II", 1, chunk_offset)),
        )
        minf = _box(
            b"minf",
            _full(b"vmhd", 0, 1, struct.pack(">HHHH", 0, 0, 0, 0)),
            _box(b"dinf", _full(b"dref", 0, 0, struct.pack(">I", 1), _full(b"url ", 0, 1))),
            stbl,
        )
        mdia = _box(
            b"mdia",
            _full(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, TIMESCALE, media_duration, 0x55C4, 0)),
            _full(b"hdlr", 0, 0, struct.pack(">I", 0), b"vide", bytes(12), b"VideoHandler\0"),
            minf,
        )
        tkhd = _full(
            b"tkhd",
            0,
            3,
            struct.pack(">IIIII", 0, 0, 1, 0, movie_duration),
            bytes(8),
            struct.pack(">hhhH", 0, 0, 0, 0),
            _MATRIX,
            struct.pack(">II", WIDTH << 16, HEIGHT << 16),
        )
        mvhd = _full(
            b"mvhd",
            0,
            0,
            struct.pack(">IIII", 0, 0, 1000, movie_duration),
            struct.pack(">IH", 0x00010000, 0x0100),
            bytes(10),
            _MATRIX,
            bytes(24),
            struct.pack(">I", 2),
        )
        return _box(b"moov", mvhd, _box(b"trak", tkhd, mdia))

    head_len = len(ftyp) + len(moov(0))
    mdat = _box(b"mdat", *samples)
    return ftyp + moov(head_len + 8) + mdat


def write_mp4(path: str, frames: int = 8, duration_frames: int | None = None) -> None:
    with open(path, "wb") as fh:
        fh.write(make_mp4(frames, duration_frames))
