"""Share, export and bring your own data: the link, the downloads, the uploads, the URL notices.

Uploads stay in memory: the bytes go to :mod:`rnnviz.uploads` (parsing and checks, pure), the
result to the session (``PlaySession.load`` for a run, ``apply_config(..., data=...)`` for a CSV
series or a text). Nothing is written to disk, nothing is unpickled, and a file's name is only
shown (made safe by ``uploads.display_name``). Every problem is an RnnvizError shown as a message.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

import streamlit as st

from rnnviz import io, uploads
from rnnviz.capacity import ServerBusy
from rnnviz.config import FIELDS
from rnnviz.errors import RnnvizError
from rnnviz.rooms import ROOM_NAME_MAX, room_name
from ui import state, widgets
from ui.text import md_escape

PAGE_PATH = "share"  # url_path of the Share & data page (stripped from the shared link)
MAX_NOTICES = 12


# ------------------------------------------------------------------------------------------ notices
def render_notices() -> None:
    """The link parameters that were ignored, each with its reason, and a dismiss button."""
    notes = state.notices()
    if not notes:
        return
    shown = notes[:MAX_NOTICES]
    more = f"\n- … and {len(notes) - MAX_NOTICES} more" if len(notes) > MAX_NOTICES else ""
    lines = "\n".join(f"- {_notice_line(n)}" for n in shown)
    with st.container(horizontal=True, vertical_alignment="top", key="link-notices"):
        st.warning(f"**The link had settings this app cannot use.** They were ignored and the defaults "
                   f"are used instead; everything else in the link applies.\n{lines}{more}", icon=":material/link:",
                   width="stretch")
        st.button("✕", key="notices.dismiss", on_click=state.dismiss_notices, help="Dismiss this message",
                  type="tertiary")


def _notice_line(notice: str) -> str:
    name, sep, rest = str(notice).partition(": ")
    if sep and len(name) <= 40:
        return f"**{md_escape(name)}**: {md_escape(rest)}"
    return md_escape(notice)


def render_loaded_banner() -> None:
    sess = state.session()
    if sess.loaded is None:
        return
    run = sess.loaded
    st.info(f"You are browsing the saved run **{md_escape(run.name)}** exactly as recorded "
            f"(steps 0–{run.step_count - 1:,}). Training is off; use **← Back to live training** in the "
            f"sidebar to continue your own run.", icon=":material/folder_open:")


# ------------------------------------------------------------------------------------------ the link
def share_params(sess=None) -> dict[str, str]:
    """The query parameters that reproduce what this session shows (config and instructor flags)."""
    sess = sess or state.session()
    params = state.url_params(sess.config, None if sess.loaded else state.preset_name())
    params.pop("role", None)  # a teacher's link to share makes students, never a second teacher
    return params


def app_url() -> str:
    """The app's address without the page path or query (``st.context.url``; localhost if unknown)."""
    url = st.context.url or "http://localhost:8501/"
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if path.endswith("/" + PAGE_PATH) or path == PAGE_PATH:
        path = path[: -len(PAGE_PATH)]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/") + "/", "", ""))


def link(params: dict[str, str]) -> str:
    query = urlencode(params, safe=",")
    return app_url() + (f"?{query}" if query else "")


def render_link() -> None:
    sess = state.session()
    st.subheader("Share this experiment")
    params = share_params(sess)
    st.code(link(params), language=None, wrap_lines=True)
    st.caption("To copy it, point at the box and click the copy icon at its right. The settings and the seed "
               "are in the link, so the batches, the weights and every number repeat exactly. While someone on "
               "this server has the same run open, opening the link joins it where it is (one run, trained "
               "once for everyone on it); Step, ×10, Reset or any setting gives you your own copy. Otherwise "
               "it starts from step 0.")
    if sess.loaded is not None:
        st.caption("These are the loaded run's settings.")
    note = state.data_note(sess)
    if note:
        st.warning(note, icon=":material/attach_file:")
    with st.expander("Instructor mode: a link whose controls are locked or hidden"):
        st.markdown("Add `lock=` or `hide=` with comma-separated control names. A locked control is shown "
                    "but cannot be changed (and presets or uploads that would change it are refused); a "
                    "hidden one is not shown at all. Controls: the settings' names, plus `preset`, `play` "
                    "(play and step), `reset`, `upload` and `download`. This is a convenience, not a "
                    "control: anyone who removes `lock=` or `hide=` from the link gets every control back.")
        choices = list(state.InstructorFlags.CONTROLS)
        cols = st.columns(2)
        lock = cols[0].multiselect("Lock", choices, key="share.lock",
                                   default=sorted(state.flags().locked))
        hide = cols[1].multiselect("Hide", choices, key="share.hide",
                                   default=sorted(state.flags().hidden))
        base = {k: v for k, v in params.items() if k not in state.InstructorFlags.PARAMS}
        if lock:
            base["lock"] = ",".join(lock)
        if hide:
            base["hide"] = ",".join(hide)
        st.code(link(base), language=None, wrap_lines=True)
        render_room_links(base)


def render_room_links(base: dict[str, str]) -> None:
    """The follow-the-teacher links of a room (rnnviz/rooms.py): one for the teacher, one for the class."""
    st.markdown("**Follow the teacher.** Name a room: the teacher's link leads it, and everyone who opens the "
                "students' link sees the teacher's run, page and step live, with their controls locked, until "
                "they press *Try it myself* (their own copy from that step) and *Rejoin*. The room name is "
                "the only secret: pick one the class cannot guess.")
    joined = state.room()
    text = st.text_input("Room name", value=joined[0] if joined else "", key="share.room", max_chars=ROOM_NAME_MAX,
                         placeholder="e.g. bio101-monday", help=f"1 to {ROOM_NAME_MAX} letters, digits, - or _.")
    if not text.strip():
        return
    try:
        name = room_name(text)
    except RnnvizError as e:
        st.error(md_escape(str(e)), icon=":material/error:")
        return
    room = {k: v for k, v in base.items() if k not in state.ROOM_PARAMS}
    st.caption("The teacher's link (keep it to yourself):")
    st.code(link({**room, "room": name, "role": "teacher"}), language=None, wrap_lines=True)
    st.caption("The students' link:")
    st.code(link({"room": name}), language=None, wrap_lines=True)


# ------------------------------------------------------------------------------------------ downloads
def run_file_name(sess) -> str:
    c = sess.config
    return f"rnnviz-{c.cell}-{c.task}-step{sess.current_step}.npz"


def render_downloads() -> None:
    sess = state.session()
    flags = state.flags()
    st.subheader("Download")
    if "download" in flags.hidden:
        st.caption("Downloads are turned off for this session.")
        return
    hist = sess.history
    cols = st.columns(2)
    with cols[0]:
        widgets.download("⬇ the run (.npz)", lambda: io.run_to_bytes(sess.runs.original.history, sess.runs.branches),
                         run_file_name(sess),
                         "application/octet-stream", key="share.npz", type="secondary",
                         help="Every recorded step with its config, and its branches. Open it again here "
                              "(below), or read it with `python -m rnnviz info run.npz` / `report`.")
    with cols[1]:
        widgets.download("⬇ loss, metric and gradient norm per step (CSV)",
                         lambda: io.history_to_csv(hist, "scalars"), "rnnviz-scalars.csv", "text/csv",
                         key="share.scalars", type="secondary")
    widgets.download("⬇ Download this run as an offline page (.zip)", lambda: offline_zip(sess),
                     f"{run_file_name(sess)[:-4]}-offline.zip", "application/zip", key="share.pack", type="secondary",
                     help="The run's loss, gradient flow, hidden states and gates with a step slider and a play "
                          "button, as a folder of static files: unzip it and open index.html (no server, no network), "
                          "or put the folder on any static web host. Built when you click (a few seconds).")
    st.caption(f"Each figure has its own **⬇ figure (HTML)** (a standalone interactive page) and, where it "
               f"shows recorded tensors, **⬇ data (CSV)** for the step, layer and sequence shown. "
               f"{widgets.PNG_HINT}")


def offline_zip(sess) -> bytes:
    """The session's run as a lecture pack of one page (rnnviz.pack), zipped; fewer hidden-state snapshots
    than the CLI's default (20), so the click stays short. Like every compute of a session it holds the
    session's lock (no step is appended meanwhile) and one of the server's training slots."""
    from contextlib import nullcontext

    from rnnviz import pack
    from rnnviz.config import PRESETS
    from rnnviz.session import COMPUTE_WAIT_SECONDS

    preset = None if sess.loaded else state.preset_name()
    name = preset or run_file_name(sess)[:-4]
    gate = getattr(sess, "gate", None)
    with sess.lock, nullcontext(True) if gate is None else gate.slot(sess.owner, COMPUTE_WAIT_SECONDS) as admitted:
        if not admitted:
            raise RnnvizError(f"the offline page must wait for one of the server's {gate.slots} training slot(s), "
                              f"got none free within {COMPUTE_WAIT_SECONDS:g} s (the server is busy); try again")
        run = pack.history_run(sess.history, name, PRESETS[preset].effect if preset else "",
                               task=getattr(sess.trainer, "task", None))
        return pack.pack_zip([run], folder=name, max_heavy=20)


# ------------------------------------------------------------------------------------------ uploads
def _uploader(label: str, key: str, types: list[str], help: str):
    flags = state.flags()
    return st.file_uploader(f"{label} (up to {uploads.MAX_UPLOAD_MB} MB)", type=types, key=key, help=help,
                            max_upload_size=uploads.MAX_UPLOAD_MB, disabled="upload" in flags.locked)


def _once(key: str, file, fn):
    """``fn(bytes)`` for a newly uploaded file, in one of the server's training slots (a bounded wait),
    remembered by the file's id (not redone on reruns). A busy server is not remembered: the next
    rerun tries again.

    Returns ``(result, error_message)``; exactly one of them is None.
    """
    memo = st.session_state.get(f"{key}.memo")
    if memo is None or memo[0] != file.file_id:
        try:
            memo = (file.file_id, state.session().compute("reading the file", fn, file.getvalue()), None)
        except ServerBusy as err:
            return None, str(err)
        except RnnvizError as err:
            memo = (file.file_id, None, str(err))
        st.session_state[f"{key}.memo"] = memo
    return memo[1], memo[2]


def _read_upload(label: str, key: str, types: list[str], help: str, parse, verb: str = "use"):
    """The uploader, then ``parse(bytes)`` once per new file: ``(file, display name, result)``, or None
    when there is no file or it was refused (the refusal is shown, naming the file and the rule)."""
    file = _uploader(label, key, types, help)
    if file is None:
        return None
    name = uploads.display_name(file.name)
    result, error = _once(key, file, parse)
    if error:
        st.error(f"Could not {verb} **{md_escape(name)}**: {md_escape(error, 600)}", icon=":material/error:")
        return None
    return file, name, result


def render_run_upload() -> None:
    """Open a saved run: parsed once, then the uploaded bytes are dropped.

    The session keeps only the loaded run (``sess.loaded``), which "← Back to live training" frees;
    the memo keeps the file's id and, for a refused file, the refusal (never the bytes or the run).
    """
    st.subheader("Open a saved run")
    st.caption("A `.npz` saved by this app (⬇ the run) or by `python -m rnnviz train --out run.npz`. Every page "
               "then shows it exactly as it was recorded.")
    sess = state.session()
    file = _uploader("Run file (.npz)", "upload.run", ["npz"], "Nothing is stored: the file stays in memory "
                     "only while it is read.")
    if file is not None:
        memo = st.session_state.get("upload.run.memo")
        if memo is None or memo[0] != file.file_id:
            name = uploads.display_name(file.name)
            try:
                runs = sess.compute("opening the run file", uploads.read_runs, file.getvalue())
            except ServerBusy as err:  # not remembered: the next rerun tries again
                st.error(md_escape(str(err), 600), icon=":material/hourglass_disabled:")
                return
            except RnnvizError as err:
                st.session_state["upload.run.memo"] = (file.file_id, name, str(err))
            else:
                st.session_state["upload.run.memo"] = (file.file_id, name, None)
                _drop_upload(file)
                sess.load(runs[0].history, name, runs[1:])  # with its branches (run file version 2)
                del runs, file
                st.rerun()  # the sidebar, drawn before this page, switches to the loaded run's controls
        _, name, error = st.session_state["upload.run.memo"]
        if error:
            st.error(f"Could not open **{md_escape(name)}**: {md_escape(error, 600)}", icon=":material/error:")
    if sess.loaded is not None:
        st.success(f"Browsing **{md_escape(sess.loaded.name)}**: {_describe(sess.config)}, steps "
                   f"0–{sess.current_step:,}. Open any page to explore it.", icon=":material/folder_open:")


def _drop_upload(file) -> None:
    """Free an uploaded file's bytes held by Streamlit's upload store (as ``st.chat_input`` does once
    it has read a file); the widget then returns None on later reruns."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    if ctx is not None and isinstance(ctx.uploaded_file_mgr, MemoryUploadedFileManager):
        ctx.uploaded_file_mgr.remove_file(session_id=ctx.session_id, file_id=file.file_id)
    file.close()


def _describe(config) -> str:
    cell = FIELDS["cell"].choice_label(config.cell)
    task = FIELDS["task"].choice_label(config.task)
    return f"{cell} on {task}, T = {config.seq_len}, H = {config.hidden_size}, seed {config.seed}"


def _train_on(task: str, data, what: str) -> None:
    """Switch the live run to ``task`` with the uploaded ``data`` (validated; locks respected)."""
    sess = state.session()
    base = sess.live_config
    try:
        config = base.replace(task=task, bidirectional=False)
    except RnnvizError as err:
        st.session_state["upload.message"] = ("error", str(err))
        return
    blocked = state.flags().blocked(base, config)
    if blocked:
        st.session_state["upload.message"] = ("error", f"training on {what} changes {', '.join(blocked)}, "
                                                       f"which the instructor locked")
        return
    try:
        state.apply_config(config, preset=None, data=data)
    except RnnvizError as err:
        st.session_state["upload.message"] = ("error", f"{what} cannot be used with these settings: {err}")
        return
    st.session_state["upload.message"] = ("success", f"The live run now trains on {what} (step 0). "
                                                     f"Open the Playground and press ▶ Play.")


def _message() -> None:
    msg = st.session_state.pop("upload.message", None)
    if msg:
        kind, text = msg
        icon = ":material/error:" if kind == "error" else ":material/check_circle:"
        (st.error if kind == "error" else st.success)(md_escape(text, 600), icon=icon)


def render_csv_upload() -> None:
    st.subheader("Your own time series (CSV)")
    st.caption(f"Rows are time steps, columns are series; a header row is optional. The network learns to "
               f"forecast the next row. Up to {uploads.MAX_CSV_ROWS:,} rows and {uploads.MAX_CSV_COLUMNS} "
               f"chosen columns; every chosen column must be numbers only, complete and not constant.")
    got = _read_upload("CSV file", "upload.csv", ["csv", "tsv", "txt"], "Comma, semicolon, tab or | separated.",
                       uploads.parse_csv)
    if got is None:
        return
    file, name, table = got
    st.markdown(f"**{md_escape(name)}**: {table.summary()}.")
    if table.problems:
        st.caption("Not usable: " + "; ".join(f"**{md_escape(n, 40)}** ({md_escape(p, 80)})"
                                              for n, p in list(table.problems.items())[:10]))
    if not table.usable:
        st.error("No column of this file can be used: each needs numbers only, no gaps, and some variation.",
                 icon=":material/error:")
        return
    columns = st.multiselect("Columns to forecast", table.names, default=table.usable[:uploads.MAX_CSV_COLUMNS],
                             key=f"upload.csv.columns.{file.file_id}",
                             max_selections=uploads.MAX_CSV_COLUMNS)
    if st.button("Train on these columns", key="upload.csv.train", type="primary",
                 disabled="upload" in state.flags().locked):
        try:
            data = uploads.select_columns(table, columns)
        except RnnvizError as err:
            st.session_state["upload.message"] = ("error", str(err))
        else:
            _train_on("csv", data, f"your series {name} ({', '.join(columns)})")
        st.rerun()


def render_text_upload() -> None:
    st.subheader("Your own text (character model)")
    st.caption(f"Any plain text file (UTF-8 or UTF-16) with {uploads.MIN_TEXT_CHARS} to "
               f"{uploads.MAX_TEXT_CHARS:,} characters and at most {uploads.MAX_TEXT_VOCAB} distinct characters. "
               f"The network reads it one character at a time and learns to predict the next one.")
    got = _read_upload("Text file", "upload.text", ["txt", "md"],
                       "A poem, some code, a chapter: anything in plain text.", uploads.decode_text)
    if got is None:
        return
    _, name, text = got
    st.markdown(f"**{md_escape(name)}**: {len(text):,} characters, {len(set(text))} distinct.")
    if st.button("Train on this text", key="upload.text.train", type="primary",
                 disabled="upload" in state.flags().locked):
        _train_on("charlm", text, f"your text {name}")
        st.rerun()


def render_uploads() -> None:
    if "upload" in state.flags().hidden:
        return
    _message()
    if "upload" in state.flags().locked:
        st.caption("Uploads are locked for this session.")
    render_run_upload()
    st.divider()
    render_csv_upload()
    st.divider()
    render_text_upload()


def render_page() -> None:
    render_link()
    st.divider()
    render_downloads()
    st.divider()
    render_uploads()


__all__ = ["render_notices", "render_loaded_banner", "render_page", "share_params", "link"]
