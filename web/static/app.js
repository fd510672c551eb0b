// The playground's web chat: pick a demo person, talk to the bot's flows. Plain DOM,
// no build step. Every text of the page comes from the server (locales/web.*.toml).
"use strict";

const $ = (id) => document.getElementById(id);
// pendingStart is a start link (an invite, a survey) to open as the person picked next.
const query = new URLSearchParams(location.search);
const state = { lang: "", strings: {}, people: [], places: [], me: null, events: null, msgs: [], pendingStart: query.get("start") };

function t(id) { return state.strings[id] || id; }

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(e, rest);
  Object.assign(e.dataset, dataset || {});
  for (const c of children) if (c != null) e.append(c);
  return e;
}

async function loadSession(lang) {
  const r = await fetch("/api/session?lang=" + encodeURIComponent(lang || ""));
  const s = await r.json();
  Object.assign(state, { lang: s.lang, strings: s.strings, people: s.people, places: s.places });
  localStorage.setItem("zhucun.lang", s.lang);
  document.documentElement.lang = s.lang;
  document.title = t("web.title");
  $("title").textContent = t("web.title");
  $("banner").textContent = t("web.banner");
  $("text").placeholder = t("web.placeholder");
  for (const [id, msg] of [["send", "web.send"], ["photo-button", "web.send_photo"], ["location-button", "web.send_location"]]) {
    $(id).title = t(msg);
    $(id).setAttribute("aria-label", t(msg));
  }
  $("picker-title").textContent = t("web.who_are_you");
  $("location-title").textContent = t("web.location_title");
  $("mode-live").textContent = t("web.live");
  $("mode-static").textContent = t("web.static");
  $("location-close").textContent = t("web.close");
  $("location-share").textContent = t("web.share");
  const sel = $("lang");
  sel.replaceChildren(...s.langs.map((l) => el("option", { value: l, textContent: l === "en" ? "English" : "中文", selected: l === s.lang })));
  sel.setAttribute("aria-label", t("web.language"));
  renderPeople();
  renderPlaces();
  renderMe();
  renderChat();
}

function regionName(p) { return state.lang === "en" && p.region_en ? p.region_en : (p.region || ""); }

function renderPeople() {
  $("people").replaceChildren(...state.people.map((p) => el("li", {},
    el("button", { type: "button", onclick: () => choose(p), dataset: { person: p.id } },
      el("div", { className: "who", textContent: p.name }),
      el("div", { className: "what", textContent: [t("web.role_" + p.role), regionName(p), t("web.id") + " " + p.id].filter(Boolean).join(" · ") })))));
}

function renderPlaces() {
  $("places").replaceChildren(...state.places.map((pl, i) => el("li", {},
    el("label", {}, el("input", { type: "radio", name: "place", value: i, checked: i === 0 }), " ",
      pl.off_site ? t("web.off_site") : (state.lang === "en" ? pl.name_en : pl.name)))));
}

function renderMe() {
  const b = $("me");
  b.hidden = !state.me;
  if (state.me) b.textContent = state.me.name + " · " + t("web.role_" + state.me.role) + " ▾";
  b.title = t("web.switch_person");
}

function choose(p) {
  state.me = p;
  localStorage.setItem("zhucun.person", p.id);
  $("picker").close();
  renderMe();
  connect();
}

function connect() {
  if (state.events) state.events.close();
  state.msgs = [];
  renderChat();
  const es = new EventSource(`/api/chats/${state.me.id}/events`);
  state.events = es;
  es.addEventListener("reset", (e) => {
    state.msgs = JSON.parse(e.data);
    renderChat();
    $("status").hidden = true;
    if (state.pendingStart) {
      send({ text: "/start " + state.pendingStart });
      state.pendingStart = null;
    }
  });
  es.addEventListener("message", (e) => { state.msgs.push(JSON.parse(e.data)); renderChat(); });
  es.addEventListener("edit", (e) => {
    const m = JSON.parse(e.data);
    const i = state.msgs.findIndex((x) => x.id === m.id);
    if (i >= 0) state.msgs[i] = m;
    renderChat();
  });
  es.onerror = () => { status(t("web.reconnecting")); };
}

function status(text) { const s = $("status"); s.textContent = text; s.hidden = !text; }

function linkify(text) {
  const out = document.createDocumentFragment();
  const re = /https?:\/\/[^\s]+/g;
  let last = 0, m;
  while ((m = re.exec(text))) {
    out.append(text.slice(last, m.index));
    const url = m[0];
    const a = el("a", { href: url, textContent: url, target: "_blank", rel: "noopener" });
    const u = new URL(url, location.href);
    if (u.origin === location.origin && u.searchParams.get("start")) {
      a.target = "";
      // A start link is opened by someone: the visitor picks who.
      a.onclick = (ev) => { ev.preventDefault(); state.pendingStart = u.searchParams.get("start"); $("picker").showModal(); };
    }
    out.append(a);
    last = m.index + url.length;
  }
  out.append(text.slice(last));
  return out;
}

function renderMessage(m) {
  const div = el("div", { className: "msg " + m.from, dataset: { id: m.id } });
  if (m.photos && m.photos.length) {
    const imgs = m.photos.map((id) => el("img", { src: "/files/" + id, alt: "" }));
    div.append(m.photos.length > 1 ? el("div", { className: "album" }, ...imgs) : imgs[0]);
  }
  if (m.document) {
    div.append(el("a", { className: "doc", href: `/files/${m.document.file_id}/${encodeURIComponent(m.document.name)}`,
      download: m.document.name, textContent: "📄 " + m.document.name + " — " + t("web.download") }), "\n");
  }
  if (m.location) {
    const l = m.location;
    div.append(el("span", { className: "loc", textContent: `📍 ${t(l.Live ? "web.location_live" : "web.location_static")} ${l.Latitude.toFixed(4)}, ${l.Longitude.toFixed(4)}` }));
  }
  if (m.contact) div.append("☎ " + t("web.contact_shared") + " " + m.contact);
  if (m.text) div.append(el("span", { className: "text" }, linkify(m.text)));
  if (m.edited) div.append(el("span", { className: "edited", textContent: t("web.edited") }));
  if (m.buttons && m.buttons.length) {
    div.append(el("div", { className: "inline" }, ...m.buttons.map((row) => el("div", { className: "row" },
      ...row.map((b) => el("button", { type: "button", textContent: b.text,
        onclick: () => send({ callback: { data: b.data, message_id: m.id } }) }))))));
  }
  return div;
}

function renderChat() {
  const main = $("chat");
  if (!state.msgs.length) {
    main.replaceChildren(el("p", { className: "empty", textContent: state.me ? t("web.empty_chat") : "" }));
  } else {
    main.replaceChildren(...state.msgs.map(renderMessage));
  }
  main.scrollTop = main.scrollHeight;
  renderKeyboard();
}

function renderKeyboard() {
  let kb = null;
  for (const m of state.msgs) {
    if (m.from !== "bot") continue;
    if (m.keyboard) kb = m.keyboard;
    if (m.remove_keyboard) kb = null;
  }
  $("keyboard").replaceChildren(...(kb || []).map((row) => el("div", { className: "row" },
    ...row.map((b) => el("button", { type: "button", textContent: b.text, onclick: () => {
      if (b.request_location) openLocation();
      else if (b.request_contact) send({ contact: true });
      else send({ text: b.text });
    } })))));
}

async function send(body) {
  if (!state.me) return;
  body.lang = state.lang;
  try {
    const r = await fetch(`/api/chats/${state.me.id}/send`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(r.status);
    status("");
  } catch (e) {
    status(t("web.error_send"));
  }
}

async function sendPhoto(file) {
  const fd = new FormData();
  fd.append("photo", file);
  fd.append("caption", $("text").value);
  fd.append("lang", state.lang);
  $("text").value = "";
  try {
    const r = await fetch(`/api/chats/${state.me.id}/photo`, { method: "POST", body: fd });
    if (r.status === 415 || r.status === 413) { status(t("web.error_file")); return; }
    if (!r.ok) throw new Error(r.status);
    status("");
  } catch (e) {
    status(t("web.error_send"));
  }
}

function openLocation() { if (state.me) $("location").showModal(); }

function shareLocation() {
  const i = Number(document.querySelector("input[name=place]:checked").value);
  const live = document.querySelector("input[name=mode]:checked").value === "live";
  const pl = state.places[i];
  $("location").close();
  send({ location: { latitude: pl.latitude, longitude: pl.longitude, live } });
}

document.addEventListener("DOMContentLoaded", async () => {
  $("composer").onsubmit = (e) => {
    e.preventDefault();
    const text = $("text").value.trim();
    if (!text) return;
    $("text").value = "";
    send({ text });
  };
  $("photo-button").onclick = () => $("photo-file").click();
  $("photo-file").onchange = (e) => { const f = e.target.files[0]; if (f) sendPhoto(f); e.target.value = ""; };
  $("location-button").onclick = openLocation;
  $("location-close").onclick = () => $("location").close();
  $("location-share").onclick = shareLocation;
  $("me").onclick = () => $("picker").showModal();
  $("lang").onchange = (e) => loadSession(e.target.value);
  await loadSession(query.get("lang") || localStorage.getItem("zhucun.lang") || navigator.language);
  const saved = state.people.find((p) => String(p.id) === localStorage.getItem("zhucun.person"));
  if (saved) choose(saved); else { renderChat(); $("picker").showModal(); }
});
