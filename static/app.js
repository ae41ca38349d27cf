// nod's one script. Every page works without it; it only enhances:
// times in the viewer's own time zone (shown, and read in the activity filter), the waiting
// page continuing by itself, and live feeds.
// Text from requests (user agents, client names) only ever goes in through textContent.
"use strict";

function localTimes(root) {
  for (const el of root.querySelectorAll("time[datetime]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (!isNaN(at)) {
      el.textContent = at.toLocaleString([], { dateStyle: "medium", timeStyle: "medium" });
      el.title = el.getAttribute("datetime");
    }
  }
}

// The waiting page: long-poll until the phone decides, then go where the answer says.
async function waitForPhone(el) {
  for (;;) {
    const asked = Date.now();
    let answer;
    try {
      const response = await fetch(el.dataset.status, { credentials: "same-origin", cache: "no-store" });
      answer = response.ok ? (await response.json()).state : "retry";
    } catch (e) {
      answer = "retry";
    }
    if (answer === "signed_in") {
      location.replace("/activity");
      return;
    }
    if (answer === "denied" || answer === "expired" || answer === "none") {
      location.replace("/login/wait");
      return;
    }
    // A pending answer normally takes the whole long-poll; a quick one (a server restarting)
    // must not turn into a tight loop.
    if (answer === "retry" || Date.now() - asked < 1000) {
      await new Promise((done) => setTimeout(done, 3000));
    }
  }
}

function div(className, text) {
  const el = document.createElement("div");
  if (className) el.className = className;
  el.textContent = text;
  return el;
}

// One feed row, the same markup as templates/feed_rows.html.
function eventRow(e) {
  const li = document.createElement("li");
  li.className = "event " + e.tone + " new";
  li.dataset.id = e.id;
  const head = div("event-head", "");
  const label = document.createElement("strong");
  label.textContent = e.label;
  const time = document.createElement("time");
  time.setAttribute("datetime", e.at);
  time.textContent = e.at;
  head.append(label, " ", time);
  li.append(head);
  if (e.what) li.append(div("", e.what));
  if (e.from) li.append(div("muted", e.from));
  if (e.user_agent) {
    const ua = div("ua", "");
    const code = document.createElement("code");
    code.textContent = e.user_agent;
    ua.append(code);
    li.append(ua);
  }
  if (e.sid_short) li.append(div("muted small", "session " + e.sid_short));
  localTimes(li);
  return li;
}

function follow(feed) {
  const live = document.getElementById("live");
  const source = new EventSource(feed.dataset.stream);
  source.onopen = () => { if (live) live.hidden = false; };
  source.onerror = () => { if (live) live.hidden = true; };
  source.onmessage = (message) => {
    const e = JSON.parse(message.data);
    if (feed.querySelector('[data-id="' + Number(e.id) + '"]')) return;
    feed.prepend(eventRow(e));
  };
}

// The filter form's range is in the viewer's wall-clock time: the server reads it with this
// offset (getTimezoneOffset's sign: UTC+10 is -600). Without the script it is read as UTC.
function timeZoneField(field) {
  const offset = new Date().getTimezoneOffset();
  field.value = String(offset);
  const note = document.getElementById("tz-note");
  if (!note) return;
  const ahead = Math.abs(offset);
  const clock = String(Math.floor(ahead / 60)).padStart(2, "0") + ":" + String(ahead % 60).padStart(2, "0");
  const zone = offset === 0 ? "UTC" : "UTC" + (offset < 0 ? "+" : "-") + clock;
  note.textContent = "From and To are in your time zone (" + zone + ").";
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  const tz = document.getElementById("tz");
  if (tz) timeZoneField(tz);
  const waiting = document.getElementById("waiting");
  if (waiting && waiting.dataset.status) waitForPhone(waiting);
  const feed = document.getElementById("feed");
  if (feed && feed.dataset.stream) follow(feed);
});
