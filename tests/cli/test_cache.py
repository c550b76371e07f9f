"""The result cache end to end through the CLI, against loopback fakes: what is one entry, that a
hit sends nothing, costs nothing and is logged as a hit, and that `aigw cache` never removes a
result the user has."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import db_rows


def results_files(cache_dir: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in sorted((cache_dir / "results").rglob("*")) if p.is_file()}


def entries(cache_dir: Path) -> list[Path]:
    root = cache_dir / "cache"
    return sorted(m.parent for m in root.glob("*/*/manifest.json")) if root.exists() else []


def manifest(entry: Path) -> dict:
    return json.loads((entry / "manifest.json").read_text())


def altered_copy(src: Path, dest: Path) -> Path:
    """The same kind of WAV with other bytes: its last sample changed."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = bytearray(src.read_bytes())
    data[-1] ^= 0x01
    dest.write_bytes(bytes(data))
    return dest



# ---- transcripts ----------------------------------------------------------------------------------


def test_a_repeated_transcription_sends_nothing_and_prints_the_cached_text(cli, fake_openai, speech_wav, cache_dir):
    first = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert first.code == 0, first.stderr
    sent = fake_openai.count()
    assert sent == 1
    again = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert again.code == 0, again.stderr
    assert again.stdout == first.stdout == fake_openai.transcript + "\n"
    assert fake_openai.count() == sent  # the fake's request log: nothing reached it
    source = db_rows(cache_dir, "SELECT id, cost_usd FROM runs ORDER BY id")[0]
    assert f"cached: from run {source['id']} (saved ~$" in again.stderr
    assert "estimated cost" not in again.stderr
    hit = db_rows(cache_dir, "SELECT * FROM runs ORDER BY id")[1]
    assert (hit["status"], hit["exit_code"], hit["cost_usd"], hit["cache_hit_of"]) == ("ok", 0, 0.0, source["id"])
    assert db_rows(cache_dir, "SELECT COUNT(*) FROM attempts WHERE run_id = ?", hit["id"])[0][0] == 0
    row = db_rows(cache_dir, "SELECT * FROM cache_entries")
    assert [(r["source_run_id"], r["hits"]) for r in row] == [(source["id"], 1)]


def test_the_same_audio_under_two_names_is_one_entry(cli, fake_openai, speech_wav, tmp_path, cache_dir):
    renamed = tmp_path / "elsewhere" / "renamed-recording.wav"
    renamed.parent.mkdir()
    shutil.copy(speech_wav, renamed)
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    r = cli("transcribe", str(renamed), "-m", "whisper-1", "--json")
    assert r.code == 0, r.stderr
    assert fake_openai.count() == 1 and json.loads(r.stdout)["cache_hit"] is True
    assert len(entries(cache_dir)) == 1
    # ...and from stdin, which has no name at all
    piped = cli("transcribe", "-", "-m", "whisper-1", input=speech_wav.read_bytes())
    assert piped.code == 0 and piped.stdout.strip() == fake_openai.transcript and fake_openai.count() == 1


def test_two_different_audios_with_the_same_name_are_two_entries(cli, fake_openai, speech_wav, tmp_path, cache_dir):
    a = tmp_path / "a" / "talk.wav"
    a.parent.mkdir()
    shutil.copy(speech_wav, a)
    b = altered_copy(speech_wav, tmp_path / "b" / "talk.wav")
    for path in (a, b):
        r = cli("transcribe", str(path), "-m", "whisper-1")
        assert r.code == 0, r.stderr
    assert fake_openai.count() == 2 and len(entries(cache_dir)) == 2
    assert len({manifest(e)["request"]["audio_sha256"] for e in entries(cache_dir)}) == 2


def test_each_transcript_format_is_served_exactly_as_first_printed(cli, fake_openai, speech_wav):
    for fmt in ("text", "json", "verbose_json", "srt", "vtt"):
        first = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", fmt)
        again = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", fmt)
        assert first.code == again.code == 0, again.stderr
        assert again.stdout_bytes == first.stdout_bytes and "cached: from run" in again.stderr
    assert fake_openai.count() == 5  # one request per format: a format is part of the key


def test_a_hit_is_delivered_like_a_run_with_o_and_json(cli, fake_openai, speech_wav, tmp_path):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", "srt").code == 0
    out = tmp_path / "out" / "talk.srt"
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-o", str(out), "--json")
    assert r.code == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["cache_hit"] is True and data["cache_of"] and data["cost_usd"] == 0 and data["attempts"] == []
    assert data["paths"] == [str(out)] and "-->" in out.read_text() and data["body"] == out.read_text()
    assert data["cache_paths"][0] != data["paths"][0] and Path(data["cache_paths"][0]).read_text() == data["body"]
    assert fake_openai.count() == 1
    paid = cli("transcribe", str(speech_wav), "-m", "whisper-1", "-f", "vtt", "--json")
    assert json.loads(paid.stdout)["cache_hit"] is False and json.loads(paid.stdout)["cache_of"] is None


def test_bad_input_still_exits_2_before_the_cache(cli, fake_openai, speech_wav):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    r = cli("transcribe", str(speech_wav), "-m", "gpt-4o-transcribe", "-f", "srt")
    assert r.code == 2 and "cached" not in r.stderr


def test_a_hit_is_not_refused_by_a_budget_it_does_not_spend(cli, fake_openai, speech_wav):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--max-cost", "0")
    assert r.code == 0 and "cached: from run" in r.stderr
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "--max-cost", "0", "--refresh").code == 6


def test_a_batch_of_cached_transcripts_is_not_refused_by_limits_it_does_not_spend(cli, fake_openai, speech_wav,
                                                                                  tmp_path):
    """Checked up front against the whole batch's estimate, --max-cost counts a cached item as the
    $0 it costs, as a single run does."""
    other = altered_copy(speech_wav, tmp_path / "other.wav")
    for audio in (speech_wav, other):
        assert cli("transcribe", str(audio), "-m", "whisper-1").code == 0
    sent = fake_openai.count()
    r = cli("transcribe", str(speech_wav), str(other), "-m", "whisper-1", "--max-cost", "0", "--json")
    assert r.code == 0, r.stderr
    assert "estimated cost: $0 for 2 item(s); 2 of them in the result cache, $0" in r.stderr
    assert [json.loads(line)["cache_hit"] for line in r.stdout.splitlines()] == [True, True]
    assert fake_openai.count() == sent
    third = tmp_path / "third.wav"  # not cached: its estimate is over --max-cost 0
    data = bytearray(speech_wav.read_bytes())
    data[-2] ^= 0x01
    third.write_bytes(bytes(data))
    refused = cli("transcribe", str(speech_wav), str(third), "-m", "whisper-1", "--max-cost", "0")
    assert refused.code == 6 and fake_openai.count() == sent, refused.stderr


def test_the_same_audio_twice_in_a_batch_is_paid_once(cli, fake_openai, speech_wav, tmp_path):
    """Both in flight at once would both miss the cache: the second waits for the first's result."""
    copy = tmp_path / "again.wav"
    shutil.copy(speech_wav, copy)  # another name, the same bytes: the same request
    r = cli("transcribe", str(speech_wav), str(copy), "-m", "whisper-1", "--concurrency", "2", "--json")
    assert r.code == 0, r.stderr
    assert fake_openai.count("/audio/transcriptions") == 1
    items = [json.loads(line) for line in r.stdout.splitlines()]
    assert sorted(i["cache_hit"] for i in items) == [False, True]
    assert {i["text"] for i in items} == {fake_openai.transcript}


def test_refresh_sends_again_and_replaces_the_entry(cli, fake_openai, speech_wav, cache_dir):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    [entry] = entries(cache_dir)
    before = manifest(entry)["source_run"]
    fake_openai.transcript = "A newer answer."
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--refresh")
    assert r.code == 0 and r.stdout.strip() == "A newer answer." and fake_openai.count() == 2
    [entry] = entries(cache_dir)
    after = manifest(entry)["source_run"]
    assert after != before
    served = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert served.stdout.strip() == "A newer answer." and f"from run {after}" in served.stderr
    assert fake_openai.count() == 2


def test_no_cache_neither_reads_nor_writes(cli, fake_openai, speech_wav, cache_dir):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "--no-cache").code == 0
    assert entries(cache_dir) == []
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    assert fake_openai.count() == 2 and len(entries(cache_dir)) == 1
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--no-cache")
    assert r.code == 0 and fake_openai.count() == 3 and "cached" not in r.stderr
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "--no-cache", "--refresh").code == 2


def test_cache_enabled_false_turns_it_off_and_cache_turns_it_back_on(cli, fake_openai, speech_wav, cache_dir):
    off = {"AIGW_CACHE__ENABLED": "false"}
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", env=off).code == 0
    assert entries(cache_dir) == []
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "--cache", env=off).code == 0
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", "--cache", env=off)
    assert "cached: from run" in r.stderr and fake_openai.count() == 2


@pytest.mark.parametrize("damage", ["edit", "truncate", "manifest", "fields", "missing"])
def test_a_damaged_entry_is_not_served_and_is_replaced(cli, fake_openai, speech_wav, cache_dir, damage):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    [entry] = entries(cache_dir)
    artefact = next(p for p in entry.iterdir() if p.name != "manifest.json")
    artefact_text = artefact.read_text()
    kept = results_files(cache_dir)
    if damage == "edit":  # same size, other bytes: only the sha256 tells
        artefact.write_text(artefact_text.swapcase())
    elif damage == "truncate":
        artefact.write_text(artefact_text[:5])
    elif damage == "manifest":
        (entry / "manifest.json").write_text("{not json")
    elif damage == "fields":  # valid JSON, files intact, but no model to report
        (entry / "manifest.json").write_text(json.dumps({**manifest(entry), "model": None, "result": []}))
    else:
        artefact.unlink()
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert r.code == 0, r.stderr
    assert r.stdout.strip() == fake_openai.transcript and fake_openai.count() == 2
    assert "not usable" in r.stderr and "cached: from run" not in r.stderr
    # replaced by the run that followed: whole again, and served
    [entry] = entries(cache_dir)
    assert manifest(entry)["source_run"] == db_rows(cache_dir, "SELECT id FROM runs ORDER BY id")[-1]["id"]
    again = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert "cached: from run" in again.stderr and fake_openai.count() == 2
    assert set(kept) <= set(results_files(cache_dir))


def test_deleting_a_result_does_not_break_the_entry(cli, fake_openai, speech_wav, cache_dir):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    for path in results_files(cache_dir):
        path.unlink()
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert r.code == 0 and r.stdout.strip() == fake_openai.transcript and fake_openai.count() == 1


# ---- images ------------------------------------------------------------------------------------


def test_images_are_cached_only_with_a_seed_or_cache(cli, together, cache_dir):
    args = ("generate", "a lighthouse", "-m", "flux-schnell")
    for _ in range(2):
        assert cli(*args).code == 0
    assert together.count("/images/generations") == 2 and entries(cache_dir) == []

    seeded = cli(*args, "--seed", "7")
    again = cli(*args, "--seed", "7", "--json")
    assert seeded.code == again.code == 0, again.stderr
    assert together.count("/images/generations") == 3
    data = json.loads(again.stdout)
    assert data["cache_hit"] is True and data["size"] == "1024x1024" and data["provider"] == "together"
    assert Path(data["paths"][0]).read_bytes() == Path(seeded.stdout.strip()).read_bytes()
    assert cli(*args, "--seed", "8").code == 0 and together.count("/images/generations") == 4

    assert cli(*args, "--cache").code == 0
    hit = cli(*args, "--cache")
    assert "cached: from run" in hit.stderr and together.count("/images/generations") == 5
    assert len(entries(cache_dir)) == 3


def test_a_default_given_or_not_is_the_same_request(cli, together, tmp_path):
    assert cli("generate", "a fox", "-m", "flux-schnell", "--seed", "1").code == 0
    r = cli("generate", "a fox", "-m", "flux-schnell", "--seed", "1", "--size", "1024x1024", "-p", "together",
            "--timeout", "30", "-o", f"{tmp_path}/out/")  # -o fox.png would ask for a PNG: another request
    assert r.code == 0 and "cached: from run" in r.stderr, r.stderr
    assert together.count("/images/generations") == 1 and Path(r.stdout.strip()).parent == tmp_path / "out"


def test_a_cached_image_goes_to_o_and_stdout(cli, together, tmp_path):
    assert cli("generate", "a fox", "-m", "flux-schnell", "--seed", "3", "-n", "2").code == 0
    out = tmp_path / "foxes"
    r = cli("generate", "a fox", "-m", "flux-schnell", "--seed", "3", "-n", "2", "-o", str(out) + "/")
    assert r.code == 0, r.stderr
    written = r.stdout.splitlines()
    assert len(written) == 2 and all(Path(p).parent == out and Path(p).stat().st_size > 0 for p in written)
    assert together.count("/images/generations") == 1


# ---- aigw cache -------------------------------------------------------------------------------


def test_prune_older_than_0d_leaves_every_result_in_place(cli, fake_openai, together, speech_wav, cache_dir):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0  # a hit: its own result file
    assert cli("generate", "a fox", "-m", "flux-schnell", "--seed", "3", "-n", "2").code == 0
    before = results_files(cache_dir)
    assert len(before) == 4 and len(entries(cache_dir)) == 2
    r = cli("cache", "prune", "--older-than", "0d")
    assert r.code == 0, r.stderr
    assert "removed 2 cache entries" in r.stderr and "files under results/ were kept" in r.stderr
    assert entries(cache_dir) == [] and results_files(cache_dir) == before
    assert db_rows(cache_dir, "SELECT COUNT(*) FROM cache_entries")[0][0] == 0
    # nothing cached any more: the next run is paid again, and cached again
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0 and fake_openai.count() == 2


def test_prune_max_size_removes_the_least_recently_used_first(cli, fake_openai, speech_wav, tmp_path, cache_dir):
    import os

    other = altered_copy(speech_wav, tmp_path / "other.wav")
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    [old] = entries(cache_dir)
    assert cli("transcribe", str(other), "-m", "whisper-1").code == 0
    [new] = set(entries(cache_dir)) - {old}
    os.utime(old, (1_000_000, 1_000_000))  # last used long ago
    size = sum(p.stat().st_size for p in new.iterdir())
    r = cli("cache", "prune", "--max-size", str(size))
    assert r.code == 0, r.stderr
    assert entries(cache_dir) == [new]


def test_list_shows_each_entry_and_its_source_run(cli, fake_openai, speech_wav, cache_dir):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    run_id = db_rows(cache_dir, "SELECT id FROM runs")[0]["id"]
    data = json.loads(cli("cache", "list", "--json").stdout)
    assert [(e["kind"], e["model"], e["provider"], e["source_run"]) for e in data] == [
        ("audio", "whisper-1", "openai", run_id)]
    assert data[0]["bytes"] > 0 and Path(data[0]["path"]).parent.parent == cache_dir / "cache"
    lines = cli("cache", "list").stdout.splitlines()
    assert lines[0].split("\t")[:3] == ["key", "kind", "model"] and run_id in lines[1]
    assert cli("cache", "path").stdout.strip() == str(cache_dir / "cache")


def test_clear_removes_entries_and_with_results_the_runs_files(cli, fake_openai, speech_wav, tmp_path, cache_dir):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "-o", str(tmp_path / "mine.txt")).code == 0
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "--no-cache").code == 0  # no entry of its own
    before = results_files(cache_dir)
    assert len(before) == 3
    r = cli("cache", "clear", "--results")
    assert r.code == 0 and "removed 1 cache entry" in r.stderr and "2 result file(s)" in r.stderr
    left = results_files(cache_dir)
    assert len(left) == 1  # the --no-cache run's result was no entry's
    assert (tmp_path / "mine.txt").exists()  # -o copies are the user's
    assert cli("cache", "clear").code == 0 and "removed 0 cache entries" in cli("cache", "clear").stderr


def test_prune_needs_a_limit_and_reads_units(cli):
    assert cli("cache", "prune").code == 2
    assert cli("cache", "prune", "--older-than", "soon").code == 2
    assert cli("cache", "prune", "--max-size", "2 lots").code == 2
    assert cli("cache", "prune", "--max-size", "2GB", "--older-than", "30d").code == 0


def test_a_cache_that_cannot_store_is_a_warning_and_the_result_is_kept(cli, fake_openai, speech_wav, cache_dir):
    cache_dir.mkdir(parents=True)
    (cache_dir / "cache").write_text("a file in the way")
    for _ in range(2):
        r = cli("transcribe", str(speech_wav), "-m", "whisper-1")
        assert r.code == 0 and r.stdout.strip() == fake_openai.transcript
        assert "the result cache could not store it" in r.stderr
    assert len(results_files(cache_dir)) == 2 and fake_openai.count() == 2


def test_a_fallback_models_result_is_not_kept_for_the_requested_model(cli, fake_openai, cache_dir):
    from tests.fakes._server import Fault

    fake_openai.inject(Fault.http(500), times=1)
    args = ("generate", "a cat", "-m", "gpt-image-2", "--fallback", "gpt-image-1.5", "--cache")
    r = cli(*args, "--json")
    assert r.code == 0 and json.loads(r.stdout)["model"] == "gpt-image-1.5", r.stderr
    assert entries(cache_dir) == []
    assert cli(*args).code == 0 and len(entries(cache_dir)) == 1  # gpt-image-2 served: kept
    assert "cached: from run" in cli(*args).stderr


def test_a_hit_prints_the_documented_json_keys(cli, fake_openai, speech_wav):
    from tests.cli.test_json_schema import documented

    run, image, audio, _, _ = documented()
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    data = json.loads(cli("transcribe", str(speech_wav), "-m", "whisper-1", "--json").stdout)
    assert list(data) == run + audio and data["cache_hit"] is True
    assert cli("generate", "a cat", "-m", "gpt-image-2", "--cache").code == 0
    data = json.loads(cli("generate", "a cat", "-m", "gpt-image-2", "--cache", "--json").stdout)
    assert list(data) == run + image and data["cache_hit"] is True and fake_openai.count() == 2


def test_a_hit_needs_no_reachable_provider(cli, fake_openai, speech_wav):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    gone = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}  # the discard port: nothing listens
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1", env=gone)
    assert r.code == 0 and r.stdout.strip() == fake_openai.transcript and "cached: from run" in r.stderr
    no_retries = {**gone, "AIGW_ROUTING__RETRIES": "0"}
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1", "--refresh", env=no_retries).code == 4


def test_a_hit_the_log_cannot_record_leaves_no_rows_and_no_files(cli, fake_openai, speech_wav, cache_dir,
                                                                monkeypatch):
    from aigw import errors
    from aigw.store.cache import index

    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    before = results_files(cache_dir)

    def locked(*args: object) -> None:
        raise errors.RunLogError("the run log stayed locked", hint="try again")

    monkeypatch.setattr(index, "record_hit", locked)
    r = cli("transcribe", str(speech_wav), "-m", "whisper-1")
    assert r.code == 1 and "stayed locked" in r.stderr and r.stdout == ""
    hit = db_rows(cache_dir, "SELECT * FROM runs ORDER BY id")[-1]
    assert (hit["status"], hit["exit_code"], hit["cache_hit_of"]) == ("failed", 1, None)
    assert db_rows(cache_dir, "SELECT COUNT(*) FROM files WHERE run_id = ?", hit["id"])[0][0] == 0
    assert results_files(cache_dir) == before and fake_openai.count() == 1  # nothing left behind, nothing sent


def test_logs_and_stats_show_the_hit_and_what_it_saved(cli, fake_openai, speech_wav):
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    assert cli("transcribe", str(speech_wav), "-m", "whisper-1").code == 0
    hit, paid = json.loads(cli("logs", "--json", "-n", "0").stdout)
    assert (hit["cache_hit"], hit["cache_of"], hit["cost_usd"], hit["attempts"]) == (True, paid["id"], 0, [])
    assert paid["cache_hit"] is False and paid["cost_usd"] > 0
    assert "cached" in cli("logs").stdout.splitlines()[0]
    totals = json.loads(cli("stats", "--json").stdout)["totals"]
    assert totals["cache_hits"] == 1 and totals["cache_saved_usd"] == pytest.approx(paid["cost_usd"])
    assert totals["cost_usd"] == pytest.approx(paid["cost_usd"])  # the hit spent nothing


def test_a_batch_item_is_answered_from_the_cache_under_its_own_run_id(cli, fake_openai, speech_wav, tmp_path):
    copy = tmp_path / "again.wav"
    shutil.copy(speech_wav, copy)
    r = cli("transcribe", str(speech_wav), str(copy), "-m", "whisper-1", "--concurrency", "1", "--json")
    assert r.code == 0, r.stderr
    items = [json.loads(line) for line in r.stdout.splitlines()]
    assert fake_openai.count() == 1 and [i["cache_hit"] for i in items] == [False, True]
    assert items[1]["cache_of"] == items[0]["id"] and items[1]["text"] == items[0]["text"]
    r = cli("transcribe", str(speech_wav), str(copy), "-m", "whisper-1", "--no-cache", "--new")
    assert r.code == 0 and fake_openai.count() == 3


@pytest.mark.parametrize("max_cost", ["0", "0.0001"])
def test_a_batch_item_whose_expected_hit_does_not_come_is_still_held_to_max_cost(cli, fake_openai, speech_wav,
                                                                                   tmp_path, cache_dir, max_cost):
    """An item counted as $0 because its entry was there when the batch was planned, but whose entry
    cannot be served when it runs (a manifest edited by hand: present, files intact, no result to make),
    is sent only if --max-cost allows its estimate: a batch never pays over its limit."""
    other = altered_copy(speech_wav, tmp_path / "other.wav")
    for audio in (speech_wav, other):
        assert cli("transcribe", str(audio), "-m", "whisper-1").code == 0
    sent = fake_openai.count()
    for entry in entries(cache_dir):
        (entry / "manifest.json").write_text(json.dumps({**manifest(entry), "model": None, "result": []}))
    r = cli("transcribe", str(speech_wav), str(other), "-m", "whisper-1", "--max-cost", max_cost)
    assert fake_openai.count() == sent, r.stderr  # nothing paid: whisper-1 on this audio costs more than the limit
    # refused by --max-cost: the batch stopped (6), or each such item failed as a single run is refused (8)
    assert r.code in (6, 8) and "--max-cost" in r.stderr, r.stderr


def test_a_batch_of_cached_items_is_not_refused_by_a_budget_already_spent(cli, fake_openai, speech_wav, tmp_path):
    """Each of these items alone is served from the cache under a daily budget spent already (a hit is
    never refused by a limit it does not spend); the batch of them, estimated at $0, is served too."""
    other = altered_copy(speech_wav, tmp_path / "other.wav")
    for audio in (speech_wav, other):
        assert cli("transcribe", str(audio), "-m", "whisper-1").code == 0
    sent = fake_openai.count()
    spent = {"AIGW_BUDGET__DAILY_USD": "0.0001"}  # below what the two runs above cost
    for audio in (speech_wav, other):
        alone = cli("transcribe", str(audio), "-m", "whisper-1", env=spent)
        assert alone.code == 0 and "cached: from run" in alone.stderr, alone.stderr
    r = cli("transcribe", str(speech_wav), str(other), "-m", "whisper-1", "--json", env=spent)
    assert r.code == 0, r.stderr
    assert [json.loads(line)["cache_hit"] for line in r.stdout.splitlines()] == [True, True]
    assert fake_openai.count() == sent
