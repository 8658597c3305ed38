"""The mixer on capture directories written from synthetic media (tests/support/capture_fixture.py).

Lip sync is measured from the mixed MP4 itself: per participant's tile, when
the picture turns white, against when that participant's own tone starts.
"""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
from support import lipsync
from support.capture_fixture import KILL_LOSS, Person, Written, write_capture

from recorder import labels
from recorder.mixer import FPS, mix
from recorder.mixplan import CaptureError
from server.cli import main as tyndau

START = 1796027600.0  # 2026-11-30 08:33:20 UTC
DURATION = 12.0
LIP_SYNC = 0.040  # seconds, either way
PLACEMENT = 0.040  # a flash or beep against its true time


def people() -> list[Person]:
    """Four people, flashes staggered so each tile and tone is told apart."""
    return [
        Person("p1", "Серікова Әлия", "judge", 500, (40, 60, 120), [(0, 12)],
               [1.0, 4.0, 7.0, 10.0], video_base=1234567, audio_base=98765),
        # Its RTP clocks wrap past 2^32 in the first second, the index keeps them
        # wrapped, and its sender reports come from a clock 2.5 s fast.
        Person("p2", "Нұрланов Нұрлан", "prosecutor", 900, (120, 60, 40), [(0, 12)],
               [1.5, 4.5, 7.5, 10.5], video_base=(1 << 32) - 45000,
               audio_base=(1 << 32) - 20000, clock_offset=2.5, wrapped_rtp=True),
        # Joins 3.3 s in.
        Person("p3", "Late Joiner", "lawyer", 1300, (180, 150, 60), [(3.3, 12)],
               [4.2, 6.2, 9.2, 11.2], video_base=555, audio_base=777),
        # Drops out from 4.5 s to 7.5 s, then leaves at 11.8 s.
        Person("p4", "Gap Leaver", "witness", 1700, (100, 100, 100), [(0, 4.5), (7.5, 11.8)],
               [2.2, 3.6, 8.6, 10.9], video_base=99, audio_base=11),
    ]  # fmt: skip


def measure(path: Path, who: list[Person]) -> tuple[list[list[float]], list[list[float]]]:
    times, levels = lipsync.tile_brightness(path, len(who))
    flashes = lipsync.flashes(times, levels)
    signal, rate = lipsync.mixed_audio(path)
    return flashes, [lipsync.beeps(signal, rate, p.tone) for p in who]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("mix")
    capture = root / "hearing-1"
    write_capture(capture, people(), start=START, duration=DURATION)
    warnings: list[str] = []
    result = mix(capture, root / "mixed.mp4", language="kk", warn=warnings.append)
    assert result.participants == 4
    return result.output, warnings


def test_every_flash_and_beep_in_sync_and_at_its_true_time(mixed: tuple[Path, list[str]]) -> None:
    path, warnings = mixed
    assert warnings == []
    who = people()
    flashes, beeps = measure(path, who)
    for person, seen, heard in zip(who, flashes, beeps, strict=True):
        assert len(seen) == len(person.flashes), (person.id, seen)
        assert len(heard) == len(person.flashes), (person.id, heard)
        errors = lipsync.pair(seen, heard)
        assert len(errors) == len(person.flashes)
        assert max(abs(e) for e in errors) <= LIP_SYNC, (person.id, errors)
        # The capture started at START: mixed time is wall-clock time since then.
        for truth, f, b in zip(person.flashes, seen, heard, strict=True):
            assert abs(f - truth) <= PLACEMENT, (person.id, truth, f)
            assert abs(b - truth) <= PLACEMENT, (person.id, truth, b)


def test_late_joiner_first_flash_at_its_wall_clock_offset(mixed: tuple[Path, list[str]]) -> None:
    path, _ = mixed
    flashes, _ = measure(path, people())
    assert abs(flashes[2][0] - 4.2) <= PLACEMENT


def test_placeholder_before_joining_and_in_a_gap(mixed: tuple[Path, list[str]]) -> None:
    path, _ = mixed
    times, levels = lipsync.tile_brightness(path, 4)

    def level(tile: int, at: float) -> float:
        return float(levels[int(np.argmin(np.abs(times - at))), tile])

    placeholder = level(2, 1.0)  # p3 not joined yet
    assert level(3, 6.0) == pytest.approx(placeholder, abs=8)  # p4 in its gap
    assert level(3, 3.0) == pytest.approx(100, abs=12)  # p4's grey picture
    assert level(2, 5.0) == pytest.approx(level(2, 8.0), abs=8)  # p3's own picture
    assert abs(level(2, 5.0) - placeholder) > 20


def test_the_file_is_what_a_player_needs(mixed: tuple[Path, list[str]]) -> None:
    path, _ = mixed
    data = path.read_bytes()
    boxes, at = [], 0
    while at + 8 <= len(data):  # top-level MP4 boxes: size, type
        size = int.from_bytes(data[at : at + 4], "big")
        boxes.append(data[at + 4 : at + 8])
        at += size if size >= 8 else len(data)
    assert boxes.index(b"moov") < boxes.index(b"mdat")  # faststart: plays while downloading
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264"
        assert (video.width, video.height) == (1280, 720)
        assert video.average_rate == FPS
        assert audio.codec_context.name == "aac"
        assert audio.rate == 48000 and audio.channels == 2
        # Runs to the last frame of any track: nothing clipped at the end.
        assert float(container.duration / av.time_base) == pytest.approx(DURATION, abs=0.2)


def assert_recovered(
    written: Written, person: Person, seen: list[float], heard: list[float]
) -> None:
    """What was left of a killed capture is all there, in sync and in place."""
    pictures = written.readable(person.id, "video", person.flashes)
    sounds = written.readable(person.id, "audio", person.flashes)
    assert len(seen) == len(pictures) and len(heard) == len(sounds), (person.id, seen, heard)
    for truth, f in zip(pictures, seen, strict=True):
        assert abs(f - truth) <= PLACEMENT, (person.id, truth, f)
    for truth, b in zip(sounds, heard, strict=True):
        assert abs(b - truth) <= PLACEMENT, (person.id, truth, b)
    errors = lipsync.pair(seen, heard)
    assert len(errors) == min(len(pictures), len(sounds))
    assert all(abs(e) <= LIP_SYNC for e in errors), (person.id, errors)


def test_killed_capture_mixes_its_recovered_segments(tmp_path: Path) -> None:
    capture = tmp_path / "killed"
    written = write_capture(capture, people(), start=START, duration=DURATION, killed_at=10.2)
    assert written.recovered  # the open segments: no index line, cut short
    warnings: list[str] = []
    result = mix(capture, tmp_path / "out.mp4", warn=warnings.append)
    for name in written.recovered:
        assert any(name in w and "recovered" in w for w in warnings), warnings
    assert 9.0 < result.duration <= 10.2 - KILL_LOSS + 0.05
    who = people()
    flashes, beeps = measure(result.output, who)
    for person, seen, heard in zip(who, flashes, beeps, strict=True):
        # Flashes from the recovered part (after the last closed segment, 8 s) are
        # there, as far as the cut-short file goes.
        assert_recovered(written, person, seen, heard)


def test_recovered_segments_without_tags_found_by_the_index(tmp_path: Path) -> None:
    """An unindexed file with no tags: placed as the continuation of its track."""
    capture = tmp_path / "killed"
    written = write_capture(
        capture, people(), start=START, duration=DURATION, killed_at=10.2, tags=False
    )
    warnings: list[str] = []
    result = mix(capture, tmp_path / "out.mp4", warn=warnings.append)
    assert not any("whose track" in w for w in warnings), warnings
    assert len([w for w in warnings if "recovered" in w]) == len(written.recovered)
    who = people()
    flashes, beeps = measure(result.output, who)
    for person, seen, heard in zip(who, flashes, beeps, strict=True):
        assert_recovered(written, person, seen, heard)


def test_recess_is_cut_out_of_the_mixed_time(tmp_path: Path) -> None:
    capture = tmp_path / "recess"
    who = people()[:2]
    write_capture(capture, who, start=START, duration=DURATION, recess=(5.0, 7.0))
    result = mix(capture, tmp_path / "out.mp4")
    assert result.duration == pytest.approx(DURATION - 2.0, abs=0.1)
    flashes, beeps = measure(result.output, who)
    for person, seen, heard in zip(who, flashes, beeps, strict=True):
        expected = [f if f < 5.0 else f - 2.0 for f in person.flashes if not 5.0 <= f < 7.0]
        assert len(seen) == len(expected), (person.id, seen)
        for truth, f, b in zip(expected, seen, heard, strict=True):
            assert abs(f - truth) <= PLACEMENT and abs(b - truth) <= PLACEMENT


def test_damaged_segment_is_skipped_with_a_warning(tmp_path: Path) -> None:
    capture = tmp_path / "damaged"
    who = people()[:2]
    written = write_capture(capture, who, start=START, duration=8.0)
    victim = written.files["p1:video:1"][1]  # p1's second video segment (4 s to 8 s)
    (capture / victim).write_bytes(b"\x1a\x45\xdf\xa3 not matroska" * 100)
    warnings: list[str] = []
    result = mix(capture, tmp_path / "out.mp4", warn=warnings.append)
    assert any(victim in w for w in warnings), warnings
    flashes, _ = measure(result.output, who)
    assert flashes[0] == pytest.approx([1.0], abs=PLACEMENT)  # 4.0 and 7.0 were in the damage
    assert len(flashes[1]) == 3  # the other participant is whole


def test_roles_are_named_in_the_hearings_language(mixed: tuple[Path, list[str]]) -> None:
    assert labels.role_name("judge", "kk") == "Судья"
    assert labels.role_name("secretary", "kk") == "Сот хатшысы"
    assert labels.role_name("lawyer", "en") == "Defence lawyer"
    assert labels.role_name("detainee", "ru") == "Лицо, содержащееся под стражей"
    assert labels.role_name("someone_new", "kk") == "someone new"


def test_role_names_are_the_web_clients() -> None:
    root = Path(__file__).resolve().parent.parent / "web_client" / "i18n"
    for language in labels.LANGUAGES:
        strings = json.loads((root / f"{language}.json").read_text("utf-8"))
        roles = {k.removeprefix("role."): v for k, v in strings.items() if k.startswith("role.")}
        assert labels.ROLE_NAMES[language] == roles


def test_no_font_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(labels, "FONT_DIRS", (tmp_path,))
    with pytest.raises(labels.FontNotFound, match="fonts-dejavu-core"):
        labels.find_fonts()


def test_not_a_capture_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such capture directory"):
        mix(tmp_path / "nowhere", tmp_path / "out.mp4")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CaptureError, match="not a capture directory"):
        mix(tmp_path / "empty", tmp_path / "out.mp4")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "segments.jsonl").write_bytes(b"\x00\xff{{{ not json\n")
    with pytest.raises(CaptureError, match="no readable line"):
        mix(garbage, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()


def test_cli_exit_status_and_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert tyndau(["archive", "mix", str(tmp_path / "nowhere")]) == 2
    assert "no such capture directory" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert tyndau(["archive", "mix", str(tmp_path / "empty")]) == 1
    assert "not a capture directory" in capsys.readouterr().err
    capture = tmp_path / "hearing-7"
    write_capture(capture, people()[:1], start=START, duration=2.0)
    assert tyndau(["archive", "mix", str(capture), "--language", "ru"]) == 0
    out = capsys.readouterr()
    assert "hearing-7.mp4" in out.out
    assert (tmp_path / "hearing-7.mp4").stat().st_size > 0
    target = tmp_path / "elsewhere.mp4"
    assert tyndau(["archive", "mix", str(capture), "-o", str(target)]) == 0
    assert target.exists()
