// The labelling page: the server holds every label; this script shows its state and sends labels.
"use strict";

const FIELDS = ["verdict", "language"];
let state = null;
let choice = { verdict: null, language: null };
let active = "verdict";

const $ = (id) => document.getElementById(id);

async function call(method, body) {
  const response = await fetch(method === "GET" ? "/api/state" : "/api/label", {
    method,
    headers: { "Content-Type": "application/json" },
    body: body ? JSON.stringify(body) : undefined,
  });
  const next = await response.json();
  show(next, response.ok ? "" : next.error);
}

function buttons(field, keys) {
  const box = document.querySelector(`.choices[data-field=${field}]`);
  box.replaceChildren();
  for (const [value, key] of Object.entries(keys)) {
    const button = document.createElement("button");
    button.type = "button";
    button.dataset.value = value;
    button.append(value.replace("_", " ").toLowerCase() + " ");
    const hint = document.createElement("kbd");
    hint.textContent = key;
    button.append(hint);
    button.addEventListener("click", () => pick(field, value));
    box.append(button);
  }
}

function show(next, error) {
  const first = state === null;
  const moved = first || (state.item && next.item ? state.item.id !== next.item.id : state.item !== next.item);
  state = next;
  if (first) {
    $("version").textContent = state.rubric.version;
    $("rubric").innerHTML = state.rubric.html; // built by the server from the packaged rubric, escaped
    $("who").textContent = `labeller ${state.labeller}`;
    FIELDS.forEach((field) => buttons(field, state.keys[field]));
  }
  const current = Math.min(state.done + 1, state.total);
  $("progress-text").textContent = state.item ? `item ${current} of ${state.total}` : `${state.total} of ${state.total} done`;
  $("bar").style.width = `${(100 * state.done) / state.total}%`;
  $("error").textContent = error || "";
  $("item").hidden = !state.item;
  $("done").hidden = !!state.item;
  if (!state.item) {
    $("done-text").textContent = `${state.total} items labelled by ${state.labeller}; the labels are in ${state.out}. You can close this page.`;
    return;
  }
  if (moved) {
    $("question").textContent = state.item.question;
    $("gold").textContent = state.item.gold;
    $("answer").textContent = state.item.answer;
    $("note").value = "";
    $("note").blur();
    clear();
  }
}

function clear() {
  choice = { verdict: null, language: null };
  active = "verdict";
  paint();
}

function pick(field, value) {
  choice[field] = value;
  active = field === "verdict" && !choice.language ? "language" : field;
  paint();
}

function paint() {
  for (const field of FIELDS) {
    $(`row-${field}`).classList.toggle("active", active === field);
    for (const button of document.querySelectorAll(`.choices[data-field=${field}] button`)) {
      button.classList.toggle("chosen", button.dataset.value === choice[field]);
    }
  }
  $("save").disabled = !(choice.verdict && choice.language);
}

function save() {
  if (!state.item || !choice.verdict || !choice.language) return;
  call("POST", { id: state.item.id, verdict: choice.verdict, language: choice.language, note: $("note").value });
}

function keyFor(field, key) {
  return Object.keys(state.keys[field]).find((value) => state.keys[field][value] === key);
}

document.addEventListener("keydown", (event) => {
  if (!state || !state.item || event.ctrlKey || event.metaKey || event.altKey) return;
  const key = event.key;
  if (document.activeElement === $("note")) {
    if (key === "Enter") save();
    if (key === "Escape") $("note").blur();
    return;
  }
  if (key === "Enter") save();
  else if (key === "Escape") clear();
  else if (key === "ArrowUp" || key === "ArrowDown") {
    active = key === "ArrowUp" ? "verdict" : "language";
    paint();
  } else if (key === "t") $("note").focus();
  else if (key === "b") pick(active, keyFor(active, "b"));
  else {
    const field = FIELDS.find((f) => keyFor(f, key));
    if (!field) return;
    pick(field, keyFor(field, key));
  }
  event.preventDefault();
});

$("save").addEventListener("click", save);
call("GET");
