// galibot's web planner: a static page over the public API (/v1/...), with the basin's own tiles.
// The plan lives in the URL (?mode=…&pts=…), so a link reopens it; nothing is fetched from outside the server.

import {Map as MapLibre, Marker, NavigationControl, ScaleControl, AttributionControl, Popup, LngLatBounds}
  from "./vendor/maplibre-gl/maplibre-gl.mjs";
import {LANGS, fmt, pickLanguage, t} from "./words.js";

const PROFILES = ["bike", "road_bike", "mtb", "walk", "trail"];
const MODES = ["route", "roundtrip", "tour", "trail", "themed"];
const CENTRE = [2.8316, 50.4289];  // the Louvre-Lens
const NETWORK = {greenways: "#1b9e3e", cavaliers: "#7b3f00", ev5: "#0b5cad"};
const POI_LAYERS = {terrils: "#4a3b2f", great_mining_sites: "#c0392b"};
const ROUTE_COLOUR = "#d0006f";

const $ = (id) => document.getElementById(id);
const state = {
  lang: "fr", mode: "route", profile: "bike", points: [], alternatives: false, km: 20, seed: 0, terrils: 5,
  theme: "memory", circuit: null, result: null, selected: 0, themes: [],
};
let map, markers = [], requestSeq = 0;

// ---------------------------------------------------------------- the API

class Problem extends Error {
  constructor(status, body) {
    super(body.detail || body.title || `HTTP ${status}`);
    this.status = status; this.body = body;
  }
}

function apiUrl(path, params = {}) {
  const url = new URL(path, document.baseURI);
  for (const [k, v] of Object.entries(params)) if (v != null) url.searchParams.set(k, v);
  return url;
}

async function api(path, {method = "GET", json, form, params} = {}) {
  const init = {method, headers: {Accept: "application/json"}};
  if (json !== undefined) { init.body = JSON.stringify(json); init.headers["Content-Type"] = "application/json"; }
  if (form !== undefined) init.body = form;
  let resp;
  try { resp = await fetch(apiUrl(path, params), init); } catch { throw new Problem(0, {detail: t(state.lang, "networkError")}); }
  const type = resp.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await resp.json() : {detail: await resp.text()};
  if (!resp.ok) throw new Problem(resp.status, body);
  return body;
}

// ---------------------------------------------------------------- the URL holds the plan

function pointToText(p) { return p.poi ? `poi:${p.poi}` : `${p.lon.toFixed(6)},${p.lat.toFixed(6)}`; }

function pointFromText(text) {
  if (text.startsWith("poi:")) return {poi: text.slice(4), name: text.slice(4), lon: null, lat: null};
  const [lon, lat] = text.split(",").map(Number);
  return Number.isFinite(lon) && Number.isFinite(lat) ? {lon, lat} : null;
}

function writeUrl() {
  const q = new URLSearchParams({lang: state.lang, mode: state.mode, profile: state.profile});
  if (state.points.length) q.set("pts", state.points.map(pointToText).join(";"));
  if (state.mode === "route" && state.alternatives) q.set("alt", "1");
  if (["roundtrip", "trail", "themed"].includes(state.mode)) q.set("km", state.km);
  if (state.mode === "roundtrip") q.set("seed", state.seed);
  if (state.mode === "trail") q.set("terrils", state.terrils);
  if (state.mode === "themed") q.set("theme", state.theme);
  if (state.circuit) q.set("circuit", state.circuit);
  history.replaceState(null, "", `${location.pathname}?${q}`);
}

function readUrl() {
  const q = new URLSearchParams(location.search);
  state.lang = pickLanguage(q.get("lang"));
  if (MODES.includes(q.get("mode"))) state.mode = q.get("mode");
  if (PROFILES.includes(q.get("profile"))) state.profile = q.get("profile");
  state.points = (q.get("pts") || "").split(";").filter(Boolean).map(pointFromText).filter(Boolean).slice(0, 27);
  state.alternatives = q.get("alt") === "1";
  for (const key of ["km", "seed", "terrils"]) if (q.has(key) && Number.isFinite(+q.get(key))) state[key] = +q.get(key);
  if (q.get("theme")) state.theme = q.get("theme");
  state.circuit = q.get("circuit");
}

// ---------------------------------------------------------------- words on the page

function applyWords() {
  const L = state.lang;
  document.documentElement.lang = L;
  document.title = t(L, "title");
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(L, el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-aria]")) el.setAttribute("aria-label", t(L, el.dataset.i18nAria));
  $("lang-switch").textContent = t(L, "langButton");
  $("lang-switch").lang = L === "fr" ? "en" : "fr";
  $("lang-hint").textContent = t(L, "langHint");
  $("profile").replaceChildren(...PROFILES.map((p) => new Option(t(L, `profiles.${p}`), p, false, p === state.profile)));
  $("theme").replaceChildren(...state.themes.map((th) => new Option(th.labels[L] || th.id, th.id, false, th.id === state.theme)));
  $("attribution").textContent = t(L, "attribution");
  for (const input of document.querySelectorAll("#layer-toggles input")) {
    input.nextElementSibling.textContent = t(L, `layer.${input.value}`);
  }
  syncForm();
}

function syncForm() {
  for (const radio of document.querySelectorAll("input[name=mode]")) radio.checked = radio.value === state.mode;
  $("profile").value = state.profile;
  $("alternatives").checked = state.alternatives;
  $("distance").value = state.km; $("seed").value = state.seed; $("terrils").value = state.terrils;
  if (state.themes.length) $("theme").value = state.theme;
  for (const el of document.querySelectorAll(".opt")) el.hidden = !el.dataset.modes.split(" ").includes(state.mode);
  $("hint").textContent = t(state.lang, `hint${state.mode[0].toUpperCase()}${state.mode.slice(1)}`);
  renderPoints();
}

function pointRole(i) {
  const n = state.points.length;
  if (i === 0) return t(state.lang, "start");
  if (state.mode === "route") return i === n - 1 ? t(state.lang, "end") : `${t(state.lang, "via")} ${i}`;
  return `${t(state.lang, "stop")} ${i}`;
}

function renderPoints() {
  const L = state.lang;
  const items = state.points.map((p, i) => {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = `${pointRole(i)} — ${p.name || `${p.lat.toFixed(5)}, ${p.lon.toFixed(5)}`}`;
    const remove = document.createElement("button");
    remove.type = "button"; remove.textContent = "×";
    remove.setAttribute("aria-label", `${t(L, "remove")} : ${pointRole(i)}`);
    remove.addEventListener("click", () => { state.points.splice(i, 1); pointsChanged(); });
    li.append(label, remove);
    return li;
  });
  if (!items.length) { const li = document.createElement("li"); li.className = "empty"; li.textContent = t(L, "noPoints"); items.push(li); }
  $("points").replaceChildren(...items);
  drawMarkers();
}

// ---------------------------------------------------------------- points on the map

function drawMarkers() {
  if (!map) return;  // the points are drawn once the map exists
  for (const m of markers) m.remove();
  markers = state.points.filter((p) => p.lon != null).map((p) => {
    const i = state.points.indexOf(p);
    const el = document.createElement("div");
    el.className = `pin ${i === 0 ? "pin-start" : i === state.points.length - 1 ? "pin-end" : "pin-via"}`;
    el.textContent = i === 0 ? "A" : state.mode === "route" && i === state.points.length - 1 ? "B" : String(i);
    el.title = pointRole(i);
    const marker = new Marker({element: el, draggable: true}).setLngLat([p.lon, p.lat]).addTo(map);
    marker.on("dragend", () => {
      const {lng, lat} = marker.getLngLat();
      state.points[i] = {lon: lng, lat};
      pointsChanged();
    });
    return marker;
  });
}

function addPoint(point) {
  if (["roundtrip", "trail", "themed"].includes(state.mode)) state.points = [point];
  else state.points.push(point);
  state.points = state.points.slice(0, 27);
  pointsChanged();
}

function pointsChanged() {
  state.circuit = null;
  renderPoints();
  writeUrl();
  if (ready()) plan();
}

function ready() {
  if (state.mode === "route") return state.points.length >= 2;
  if (state.mode === "tour") return state.points.length >= 2;
  return state.points.length >= 1;
}

function onMapClick(e) {
  const hits = map.queryRenderedFeatures(e.point, {layers: ["poi-terrils", "poi-great_mining_sites", "poi-pois"].filter((l) => map.getLayer(l))});
  if (hits.length) {
    const f = hits[0];
    const [lon, lat] = f.geometry.coordinates;
    addPoint({poi: f.properties.id, name: f.properties.name, lon, lat});
  } else {
    addPoint({lon: e.lngLat.lng, lat: e.lngLat.lat});
  }
}

// ---------------------------------------------------------------- planning

function place(p) { return p.poi ? p.poi : [+p.lon.toFixed(6), +p.lat.toFixed(6)]; }

function request() {
  const [first, ...rest] = state.points;
  const lang = state.lang, profile = state.profile;
  switch (state.mode) {
    case "route":
      return ["v1/routes", {profile, points: state.points.map(place), alternatives: state.alternatives ? 2 : 0, lang}];
    case "roundtrip":
      return ["v1/roundtrips", {profile, start: place(first), distance_km: state.km, seed: state.seed, lang}];
    case "tour":
      return ["v1/tours", {profile, start: place(first), stops: rest.map(place), lang}];
    case "trail":
      return ["v1/trails", {profile: "trail", start: place(first), distance_km: state.km, terrils: state.terrils, lang}];
    default:
      return ["v1/circuits", {profile, start: place(first), distance_km: state.km, themes: [state.theme], lang}];
  }
}

function missing() {
  if (!state.points.length) return t(state.lang, "needStart");
  if (state.mode === "route" && state.points.length < 2) return t(state.lang, "needTwo");
  if (state.mode === "tour" && state.points.length < 2) return t(state.lang, "needStop");
  return null;
}

async function plan() {
  const why = missing();
  if (why) { showError({title: t(state.lang, "errorTitle"), detail: why}); return; }
  const [path, body] = request();
  await run(() => api(path, {method: "POST", json: body}));
}

async function openCircuit(id) {
  state.circuit = id;
  writeUrl();
  await run(() => api(`v1/circuits/${encodeURIComponent(id)}`, {params: {lang: state.lang}}));
}

/** Run one request, newest wins: an older answer arriving late is dropped. */
async function run(call) {
  const seq = ++requestSeq;
  showError(null);
  $("busy").textContent = t(state.lang, "computing");
  document.body.classList.add("busy");
  try {
    const result = await call();
    if (seq === requestSeq) showResult(result);
  } catch (err) {
    if (seq === requestSeq) showError(err instanceof Problem ? err.body : {detail: String(err)}, err.status);
  } finally {
    if (seq === requestSeq) { $("busy").textContent = ""; document.body.classList.remove("busy"); }
  }
}

function showError(problem, status) {
  const box = $("error");
  if (!problem) { box.hidden = true; box.replaceChildren(); return; }
  const title = document.createElement("strong");
  title.textContent = `${problem.title || t(state.lang, "errorTitle")}${status ? ` (${status})` : ""}`;
  const detail = document.createElement("p");
  detail.textContent = problem.detail || "";
  box.replaceChildren(title, detail);
  if (problem.field) { const f = document.createElement("p"); f.className = "field"; f.textContent = problem.field; box.append(f); }
  box.hidden = false;
}

// ---------------------------------------------------------------- the result

function routesOf(result) { return result.type === "Feature" ? [result] : result.features || []; }

function showResult(result) {
  state.result = result; state.selected = 0;
  document.body.dataset.result = "ready";
  document.body.dataset.resultAt = String(Math.round(performance.now()));  // the benchmark's time to a route
  $("result").hidden = false;
  renderAlternatives();
  renderSelected();
  const coords = routesOf(result).flatMap((f) => f.geometry.coordinates);
  if (coords.length) {
    const bounds = coords.reduce((b, c) => b.extend([c[0], c[1]]), new LngLatBounds([coords[0][0], coords[0][1]], [coords[0][0], coords[0][1]]));
    map.fitBounds(bounds, {padding: 40, duration: 0});
  }
}

function renderAlternatives() {
  const routes = routesOf(state.result);
  const box = $("alternatives-list");
  if (routes.length < 2) { box.replaceChildren(); return; }
  box.replaceChildren(...routes.map((f, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.setAttribute("aria-pressed", String(i === state.selected));
    b.textContent = `${t(state.lang, "routeN", {n: i + 1})}${i === 0 && state.mode === "route" ? ` (${t(state.lang, "best")})` : ""} · ${fmt.km(state.lang, f.properties.distance_m)}`;
    b.addEventListener("click", () => { state.selected = i; renderAlternatives(); renderSelected(); });
    return b;
  }));
}

function renderSelected() {
  const routes = routesOf(state.result);
  const route = routes[state.selected];
  map.getSource("route").setData({type: "FeatureCollection", features: [route]});
  map.getSource("alternatives").setData({type: "FeatureCollection", features: routes.filter((_, i) => i !== state.selected)});
  renderSummary(route.properties);
  renderChart(route);
  renderInstructions(route.properties.instructions || []);
  renderPois(route.properties.pois || []);
  renderDownloads(state.result.links || {});
}

function greenwayShare(p) {
  const metres = Object.entries(p.way_types || {}).filter(([k]) => k === "path" || k.startsWith("path/") || k === "cycleway").reduce((s, [, v]) => s + v, 0);
  return p.distance_m ? metres / p.distance_m : 0;
}

function term(dl, key, value, id) {
  const dt = document.createElement("dt"); dt.textContent = t(state.lang, key);
  const dd = document.createElement("dd"); dd.textContent = value;
  if (id) dd.dataset.figure = id;
  dl.append(dt, dd);
}

function renderSummary(p) {
  const L = state.lang, dl = $("summary");
  dl.replaceChildren();
  term(dl, "distanceLabel", fmt.km(L, p.distance_m), "distance");
  term(dl, "durationLabel", fmt.duration(L, p.duration_s), "duration");
  term(dl, "ascentLabel", fmt.m(L, p.ascent_m), "ascent");
  term(dl, "descentLabel", fmt.m(L, p.descent_m), "descent");
  term(dl, "greenwayLabel", fmt.share(L, greenwayShare(p)), "greenway");
  term(dl, "cavalierLabel", fmt.share(L, p.cavalier_share), "cavalier");
  term(dl, "ev5Label", fmt.share(L, p.ev5_share), "ev5");
  if (p.summits && p.summits.length) term(dl, "terrilsLabel", String(p.summits.length), "summits");
  dl.dataset.distanceM = p.distance_m;
}

// ---------------------------------------------------------------- the elevation chart, linked to the map

function haversine(a, b) {
  const r = Math.PI / 180, dlat = (b[1] - a[1]) * r, dlon = (b[0] - a[0]) * r;
  const h = Math.sin(dlat / 2) ** 2 + Math.cos(a[1] * r) * Math.cos(b[1] * r) * Math.sin(dlon / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

/** The place at ``m`` metres along the line, scaled so the line's length matches the route's distance. */
function pointAt(coords, cumulative, m) {
  const scaled = m * cumulative[cumulative.length - 1] / (state.chartLength || 1);
  let i = cumulative.findIndex((c) => c >= scaled);
  if (i <= 0) return coords[Math.max(i, 0)];
  const f = (scaled - cumulative[i - 1]) / ((cumulative[i] - cumulative[i - 1]) || 1);
  return [coords[i - 1][0] + f * (coords[i][0] - coords[i - 1][0]), coords[i - 1][1] + f * (coords[i][1] - coords[i - 1][1])];
}

function renderChart(route) {
  const profile = route.properties.elevation_profile || [];
  const box = $("chart");
  box.replaceChildren();
  if (profile.length < 2) return;
  const W = 600, H = 160, pad = 28;
  const total = profile[profile.length - 1][0];
  const eles = profile.map((p) => p[1]);
  const lo = Math.min(...eles), hi = Math.max(...eles), span = Math.max(hi - lo, 10);
  const x = (m) => pad + (W - 2 * pad) * m / (total || 1);
  const y = (e) => H - pad - (H - 2 * pad) * (e - lo) / span;
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("role", "slider");
  svg.setAttribute("tabindex", "0");
  svg.setAttribute("aria-label", t(state.lang, "chartLabel", {d: fmt.km(state.lang, total), lo: fmt.m(state.lang, lo), hi: fmt.m(state.lang, hi)}));
  svg.setAttribute("aria-valuemin", "0"); svg.setAttribute("aria-valuemax", String(Math.round(total)));
  svg.setAttribute("aria-valuenow", "0");
  const area = document.createElementNS(ns, "path");
  area.setAttribute("d", `M${x(0)},${H - pad} ` + profile.map(([m, e]) => `L${x(m).toFixed(1)},${y(e).toFixed(1)}`).join(" ") + ` L${x(total)},${H - pad} Z`);
  area.setAttribute("class", "chart-area");
  const axis = document.createElementNS(ns, "text");
  axis.setAttribute("x", pad); axis.setAttribute("y", 14); axis.setAttribute("class", "chart-text");
  axis.textContent = `${fmt.m(state.lang, hi)} / ${fmt.m(state.lang, lo)}`;
  const cursor = document.createElementNS(ns, "line");
  cursor.setAttribute("class", "chart-cursor"); cursor.setAttribute("y1", pad / 2); cursor.setAttribute("y2", H - pad);
  cursor.style.display = "none";
  const readout = document.createElementNS(ns, "text");
  readout.setAttribute("class", "chart-text"); readout.setAttribute("y", H - 6);
  svg.append(area, axis, cursor, readout);
  box.append(svg);

  const coords = route.geometry.coordinates;
  const cumulative = [0];
  for (let i = 1; i < coords.length; i++) cumulative.push(cumulative[i - 1] + haversine(coords[i - 1], coords[i]));
  state.chartLength = total;
  let at = 0;
  const show = (m) => {
    at = Math.min(Math.max(m, 0), total);
    const k = profile.findIndex((p) => p[0] >= at);
    const ele = profile[Math.max(k, 0)][1];
    cursor.setAttribute("x1", x(at)); cursor.setAttribute("x2", x(at)); cursor.style.display = "";
    readout.setAttribute("x", Math.min(x(at) + 4, W - 120));
    readout.textContent = t(state.lang, "chartAt", {km: fmt.km(state.lang, at), ele: fmt.m(state.lang, ele)});
    svg.setAttribute("aria-valuenow", String(Math.round(at)));
    svg.setAttribute("aria-valuetext", readout.textContent);
    const [lon, lat] = pointAt(coords, cumulative, at);
    map.getSource("hover").setData({type: "Feature", geometry: {type: "Point", coordinates: [lon, lat]}, properties: {}});
  };
  const hide = () => { cursor.style.display = "none"; readout.textContent = ""; map.getSource("hover").setData({type: "FeatureCollection", features: []}); };
  svg.addEventListener("pointermove", (e) => {
    const box = svg.getBoundingClientRect();
    const px = (e.clientX - box.left) * W / box.width;
    show((px - pad) / (W - 2 * pad) * total);
  });
  svg.addEventListener("pointerleave", hide);
  svg.addEventListener("blur", hide);
  svg.addEventListener("keydown", (e) => {
    const step = total / 50;
    if (e.key === "ArrowRight") { show(at + step); e.preventDefault(); }
    if (e.key === "ArrowLeft") { show(at - step); e.preventDefault(); }
    if (e.key === "Home") { show(0); e.preventDefault(); }
    if (e.key === "End") { show(total); e.preventDefault(); }
  });
}

function renderInstructions(list) {
  $("instructions").replaceChildren(...list.map((ins) => {
    const li = document.createElement("li");
    li.textContent = ins.distance_m > 0 ? `${ins.text} (${fmt.km(state.lang, ins.distance_m)})` : ins.text;
    li.tabIndex = 0;
    const go = () => map.easeTo({center: ins.location, zoom: Math.max(map.getZoom(), 15), duration: 0});
    li.addEventListener("click", go);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") go(); });
    return li;
  }));
}

function renderPois(list) {
  if (!list.length) { const li = document.createElement("li"); li.textContent = t(state.lang, "noPois"); $("route-pois").replaceChildren(li); return; }
  $("route-pois").replaceChildren(...list.map((p) => {
    const li = document.createElement("li");
    const name = document.createElement("strong"); name.textContent = p.name;
    const where = document.createElement("span"); where.textContent = ` · ${fmt.km(state.lang, p.along_m)}`;
    li.append(name, where);
    if (p.description) { const d = document.createElement("p"); d.textContent = p.description; li.append(d); }
    return li;
  }));
}

const DOWNLOADS = ["gpx", "fit", "csv", "geojson", "pdf", "png"];

function renderDownloads(links) {
  // FIT and CSV (the race kit's course files) are the stored result's other formats: <key>.fit, <key>.csv
  const href = (k) => links[k] || (links.self ? `${links.self}.${k}` : null);
  $("downloads").replaceChildren(...DOWNLOADS.filter((k) => href(k)).map((k) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = apiUrl(href(k), {lang: state.lang}).href;
    a.textContent = t(state.lang, `download.${k}`);
    a.dataset.format = k;
    if (k !== "png") a.setAttribute("download", "");
    li.append(a);
    return li;
  }));
}

// ---------------------------------------------------------------- circuits, GPX import, layers

async function loadCircuits() {
  try {
    const {circuits} = await api("v1/circuits", {params: {lang: state.lang}});
    $("circuit-list").replaceChildren(...circuits.map((c) => {
      const li = document.createElement("li");
      const b = document.createElement("button");
      b.type = "button"; b.dataset.circuit = c.id;
      b.textContent = `${c.name} · ${fmt.km(state.lang, c.km * 1000)} · ${fmt.m(state.lang, c.ascent_m)} D+`;
      b.addEventListener("click", () => openCircuit(c.id));
      li.append(b);
      return li;
    }));
  } catch (err) {
    const li = document.createElement("li"); li.textContent = err.message; $("circuit-list").replaceChildren(li);
  }
}

async function analyseGpx(file) {
  const form = new FormData();
  form.append("file", file);
  form.append("profile", state.profile);
  const seq = ++requestSeq;
  showError(null);
  $("busy").textContent = t(state.lang, "computing");
  try {
    const a = await api("v1/gpx/analyze", {method: "POST", form});
    if (seq !== requestSeq) return;
    const L = state.lang, dl = $("analysis");
    dl.replaceChildren();
    term(dl, "pointsLabel", String(a.points));
    term(dl, "distanceLabel", fmt.km(L, a.distance_m), "distance");
    term(dl, "ascentLabel", fmt.m(L, a.ascent_m), "ascent");
    term(dl, "descentLabel", fmt.m(L, a.descent_m));
    term(dl, "matchedLabel", fmt.share(L, a.matched_share));
    dl.hidden = false;
    if (a.snapped) {
      map.getSource("route").setData({type: "Feature", geometry: a.snapped, properties: {}});
      const coords = a.snapped.coordinates.flat();
      if (coords.length) map.fitBounds(coords.reduce((b, c) => b.extend(c), new LngLatBounds(coords[0], coords[0])), {padding: 40, duration: 0});
    }
  } catch (err) {
    if (seq === requestSeq) showError(err instanceof Problem ? err.body : {detail: String(err)}, err.status);
  } finally {
    if (seq === requestSeq) $("busy").textContent = "";
  }
}

function addOverlays() {
  for (const [kind, colour] of Object.entries(NETWORK)) {
    map.addSource(`net-${kind}`, {type: "geojson", data: apiUrl(`v1/network/${kind}.geojson`).href});
    map.addLayer({id: `net-${kind}`, type: "line", source: `net-${kind}`, layout: {"line-cap": "round", "line-join": "round"},
      paint: {"line-color": colour, "line-width": ["interpolate", ["linear"], ["zoom"], 9, 1.5, 14, 4], "line-opacity": 0.8}});
  }
  map.addSource("alternatives", {type: "geojson", data: {type: "FeatureCollection", features: []}});
  map.addLayer({id: "alternatives", type: "line", source: "alternatives", paint: {"line-color": "#6c6c6c", "line-width": 4, "line-opacity": 0.7, "line-dasharray": [2, 1]}});
  map.addSource("route", {type: "geojson", data: {type: "FeatureCollection", features: []}});
  map.addLayer({id: "route", type: "line", source: "route", layout: {"line-cap": "round", "line-join": "round"}, paint: {"line-color": ROUTE_COLOUR, "line-width": 5}});
  for (const [theme, colour] of Object.entries({...POI_LAYERS, pois: "#8e44ad"})) {
    map.addSource(`poi-${theme}`, {type: "geojson", data: {type: "FeatureCollection", features: []}});
    map.addLayer({id: `poi-${theme}`, type: "circle", source: `poi-${theme}`,
      paint: {"circle-color": colour, "circle-radius": theme === "great_mining_sites" ? 8 : 5, "circle-stroke-color": "#fff", "circle-stroke-width": 1.5}});
  }
  map.addSource("hover", {type: "geojson", data: {type: "FeatureCollection", features: []}});
  map.addLayer({id: "hover", type: "circle", source: "hover", paint: {"circle-color": "#fff", "circle-radius": 7, "circle-stroke-color": ROUTE_COLOUR, "circle-stroke-width": 3}});
  loadPoiLayer("terrils", "terrils");
  loadPoiLayer("great_mining_sites", "great_mining_sites");
}

/** A POI theme as a map layer; terrils also get their number and height as labels from zoom 12. */
async function loadPoiLayer(layer, theme) {
  try {
    const data = await api("v1/pois", {params: {theme, limit: 500, lang: state.lang}});
    map.getSource(`poi-${layer}`).setData(data);
    if (layer === "terrils") labelTerrils(data.features);
  } catch (err) {
    showError(err instanceof Problem ? err.body : {detail: String(err)}, err.status);
  }
}

let terrilLabels = [];
function labelTerrils(features) {
  for (const m of terrilLabels) m.remove();
  terrilLabels = features.map((f) => {
    const d = f.properties.details || {};
    const el = document.createElement("div");
    el.className = "terril-label";
    el.setAttribute("aria-hidden", "true");
    el.textContent = `${d.number || ""}${d.summit_m != null ? ` · ${Math.round(d.summit_m)} m` : ""}`;
    return new Marker({element: el, anchor: "top", offset: [0, 6]}).setLngLat(f.geometry.coordinates).addTo(map);
  });
  updateLabelVisibility();
}

function updateLabelVisibility() {
  document.body.classList.toggle("show-terril-labels", map.getZoom() >= 12 && map.getLayoutProperty("poi-terrils", "visibility") !== "none");
}

function buildLayerToggles() {
  const toggles = [...Object.keys(NETWORK), ...Object.keys(POI_LAYERS), "pois"];
  $("layer-toggles").replaceChildren(...toggles.map((key) => {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox"; box.value = key; box.checked = key !== "pois";
    const text = document.createElement("span");
    text.textContent = t(state.lang, `layer.${key}`);
    const swatch = document.createElement("span");
    swatch.className = "swatch";
    swatch.setAttribute("aria-hidden", "true");
    swatch.style.background = NETWORK[key] || POI_LAYERS[key] || "#8e44ad";
    label.append(box, " ", text, " ", swatch);
    if (key === "pois") {
      const select = document.createElement("select");
      select.id = "poi-theme"; select.setAttribute("aria-label", t(state.lang, "theme"));
      select.append(...state.themes.map((th) => new Option(th.labels[state.lang] || th.id, th.id)));
      select.addEventListener("change", () => { if (box.checked) loadPoiLayer("pois", select.value); });
      label.append(" ", select);
    }
    box.addEventListener("change", () => {
      const id = key in NETWORK ? `net-${key}` : `poi-${key}`;
      if (key === "pois" && box.checked) loadPoiLayer("pois", $("poi-theme").value);
      map.setLayoutProperty(id, "visibility", box.checked ? "visible" : "none");
      updateLabelVisibility();
    });
    return label;
  }));
  map.setLayoutProperty("poi-pois", "visibility", "none");
}

/** A POI layer tells what is under the pointer: a terril's number, name and height; a site's name. */
function popupOnHover(layer) {
  const popup = new Popup({closeButton: false, closeOnClick: false, offset: 8});
  map.on("mousemove", layer, (e) => {
    map.getCanvas().style.cursor = "pointer";
    const p = e.features[0].properties;
    const d = typeof p.details === "string" ? JSON.parse(p.details) : p.details || {};
    const text = layer === "poi-terrils"
      ? t(state.lang, "terrilPopup", {n: d.number, name: p.name, h: fmt.m(state.lang, d.summit_m || 0)})
      : p.name;
    popup.setLngLat(e.features[0].geometry.coordinates).setText(text).addTo(map);
  });
  map.on("mouseleave", layer, () => { map.getCanvas().style.cursor = ""; popup.remove(); });
}

// ---------------------------------------------------------------- wiring

function wireForm() {
  $("plan-form").addEventListener("submit", (e) => { e.preventDefault(); plan(); });
  for (const radio of document.querySelectorAll("input[name=mode]")) {
    radio.addEventListener("change", () => {
      state.mode = radio.value;
      if (state.mode === "trail") state.profile = "trail";
      if (["roundtrip", "trail", "themed"].includes(state.mode)) state.points = state.points.slice(0, 1);
      syncForm(); writeUrl();
    });
  }
  $("profile").addEventListener("change", () => { state.profile = $("profile").value; writeUrl(); if (state.result && ready()) plan(); });
  $("alternatives").addEventListener("change", () => { state.alternatives = $("alternatives").checked; writeUrl(); if (ready()) plan(); });
  for (const [id, key] of [["distance", "km"], ["seed", "seed"], ["terrils", "terrils"]]) {
    $(id).addEventListener("change", () => { state[key] = Number($(id).value); writeUrl(); });
  }
  $("theme").addEventListener("change", () => { state.theme = $("theme").value; writeUrl(); });
  $("clear").addEventListener("click", () => {
    state.points = []; state.result = null; state.circuit = null;
    $("result").hidden = true; showError(null); delete document.body.dataset.result;
    for (const s of ["route", "alternatives", "hover"]) map.getSource(s).setData({type: "FeatureCollection", features: []});
    renderPoints(); writeUrl();
  });
  $("add-centre").addEventListener("click", () => { const c = map.getCenter(); addPoint({lon: c.lng, lat: c.lat}); });
  $("gpx-file").addEventListener("change", () => { const f = $("gpx-file").files[0]; if (f) analyseGpx(f); });
  $("lang-switch").addEventListener("click", () => {
    state.lang = LANGS.find((l) => l !== state.lang);
    applyWords(); writeUrl(); loadCircuits();
    if (state.circuit) openCircuit(state.circuit); else if (state.result && ready()) plan();
  });
}

async function loadThemes() {
  try { state.themes = (await api("v1/pois/themes")).themes; } catch { state.themes = []; }
  if (!state.themes.some((th) => th.id === state.theme) && state.themes.length) state.theme = state.themes[0].id;
}

async function resolvePoiPoints() {
  await Promise.all(state.points.filter((p) => p.poi && p.lon == null).map(async (p) => {
    try {
      const f = await api(`v1/pois/${encodeURIComponent(p.poi)}`, {params: {lang: state.lang}});
      [p.lon, p.lat] = f.geometry.coordinates; p.name = f.properties.name;
    } catch { /* the plan names it; the API's answer will say what is wrong */ }
  }));
}

async function main() {
  readUrl();
  await loadThemes();
  applyWords();
  wireForm();
  map = new MapLibre({
    container: "map", style: apiUrl("v1/tiles/style.json").href, center: CENTRE, zoom: 11, minZoom: 8, maxZoom: 18,
    attributionControl: false,
  });
  window.galibot = {map, state};  // for the browser tests and the curious: the map and the plan
  map.addControl(new NavigationControl(), "top-right");
  map.addControl(new ScaleControl({unit: "metric"}), "bottom-left");
  map.addControl(new AttributionControl({compact: true}), "bottom-right");
  map.on("click", onMapClick);
  map.on("zoomend", updateLabelVisibility);
  map.once("idle", () => { document.body.dataset.map = "idle"; });
  map.on("load", async () => {
    addOverlays();
    buildLayerToggles();
    for (const layer of ["poi-terrils", "poi-great_mining_sites", "poi-pois"]) popupOnHover(layer);
    await resolvePoiPoints();
    renderPoints();
    loadCircuits();
    if (state.circuit) openCircuit(state.circuit);
    else if (ready()) plan();
    document.body.dataset.ready = "true";
  });
}

main();
