/* Place picker: turns each P-code box ([data-place-picker]) into a search by name that shows
   "Région › Département › Commune". Without JavaScript the P-code box works on its own.

   It follows the WAI-ARIA combobox pattern (list autocomplete, manual selection): arrows move through
   the options, Enter picks the highlighted option and never submits the form, Escape closes the list,
   and a live region says how many places were found. A chosen place keeps its P-code until the user
   picks another one or empties the box; leaving the box after typing puts the chosen label back, so
   the box always shows what will be saved. */
(function () {
  "use strict";

  var PCODE = /^NE\d{3}(\d{3}){0,2}$/i;
  var counter = 0;

  function settings(input) {
    var form = input.closest("[data-places-url]");
    var data = form ? form.dataset : {};
    return {
      url: data.placesUrl || null,
      empty: data.pickerEmpty || "",
      error: data.pickerError || "",
      one: data.pickerCountOne || "",
      many: data.pickerCountMany || ""
    };
  }

  function search(url, query) {
    return fetch(url + "?q=" + encodeURIComponent(query), {
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      return response.json();
    });
  }

  function enhance(input) {
    if (input.dataset.pickerReady) { return; }
    var config = settings(input);
    if (!config.url) { return; }
    input.dataset.pickerReady = "1";
    counter += 1;
    var listId = "place-picker-list-" + counter;

    // The visible search box takes over the P-code box's id, so its <label> and error texts apply.
    var box = document.createElement("input");
    box.type = "text";
    box.id = input.id;
    box.className = input.className;
    box.autocomplete = "off";
    box.spellcheck = false;
    box.setAttribute("role", "combobox");
    box.setAttribute("aria-autocomplete", "list");
    box.setAttribute("aria-expanded", "false");
    box.setAttribute("aria-controls", listId);
    ["aria-describedby", "aria-invalid", "aria-required", "placeholder"].forEach(function (name) {
      if (input.hasAttribute(name)) { box.setAttribute(name, input.getAttribute(name)); }
    });
    box.value = input.dataset.label || input.value;
    input.id = input.id + "-pcode";
    input.type = "hidden";

    var wrapper = document.createElement("div");
    wrapper.className = "position-relative";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "list-group position-absolute w-100 shadow-sm z-3 overflow-auto";
    list.style.maxHeight = "18rem";
    list.setAttribute("role", "listbox");
    if (box.id) {
      var label = document.querySelector('label[for="' + box.id + '"]');
      if (label) {
        if (!label.id) { label.id = box.id + "-label"; }
        list.setAttribute("aria-labelledby", label.id);
      }
    }
    list.hidden = true;
    // Said once per search, outside the listbox: "3 places found", "No place found".
    var status = document.createElement("div");
    status.id = listId + "-status";
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    var note = document.createElement("div");
    note.className = "form-text mt-1";
    note.hidden = true;
    note.setAttribute("aria-hidden", "true"); // the status above already says it
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(box);
    wrapper.appendChild(list);
    wrapper.appendChild(note);
    wrapper.appendChild(status);
    wrapper.appendChild(input);

    var results = [];
    var active = -1;
    var timer = null;
    var latest = 0;
    // The place whose P-code is posted; null while the box holds typed text that was never picked.
    var chosen = input.dataset.label && input.value ? { pcode: input.value, label: input.dataset.label } : null;

    function announce(text) {
      // Emptied first, so that the same count after a new search is announced again.
      status.textContent = "";
      setTimeout(function () { status.textContent = text; }, 50);
    }

    function close() {
      list.hidden = true;
      list.textContent = "";
      note.hidden = true;
      note.textContent = "";
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
      results = [];
      active = -1;
    }

    function highlight(index) {
      var items = list.querySelectorAll("[role=option]");
      items.forEach(function (item, i) {
        var on = i === index;
        item.classList.toggle("active", on);
        item.setAttribute("aria-selected", on ? "true" : "false");
        if (on) {
          box.setAttribute("aria-activedescendant", item.id);
          item.scrollIntoView({ block: "nearest" });
        }
      });
      active = index;
    }

    function choose(place) {
      chosen = { pcode: place.pcode, label: place.label };
      input.value = place.pcode;
      box.value = place.label;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      close();
      announce(place.label);
    }

    function countText(n) {
      return (n === 1 ? config.one : config.many).replace("%(count)s", String(n));
    }

    function show(places, message) {
      results = places;
      list.textContent = "";
      box.removeAttribute("aria-activedescendant");
      active = -1;
      places.forEach(function (place, i) {
        var item = document.createElement("li");
        item.id = listId + "-" + i;
        item.className = "list-group-item list-group-item-action py-1";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.dataset.pcode = place.pcode;
        var text = document.createElement("span");
        text.textContent = place.label;
        var detail = document.createElement("small");
        detail.className = "text-body-secondary ms-2";
        detail.textContent = place.level + " · " + place.pcode;
        item.appendChild(text);
        item.appendChild(detail);
        item.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the box
          choose(place);
        });
        list.appendChild(item);
      });
      if (places.length) {
        list.hidden = false;
        note.hidden = true;
        box.setAttribute("aria-expanded", "true");
        announce(countText(places.length));
      } else {
        // "No place found" is a message, not an option: it stays outside the listbox.
        list.hidden = true;
        box.setAttribute("aria-expanded", "false");
        note.textContent = message;
        note.hidden = !message;
        announce(message);
      }
    }

    function lookup() {
      var query = box.value.trim();
      if (query.length < 2 || (chosen && query === chosen.label)) { close(); return; }
      var ticket = ++latest;
      search(config.url, query).then(function (data) {
        if (ticket === latest && document.activeElement === box) { show(data.results, config.empty); }
      }).catch(function () {
        if (ticket === latest) { show([], config.error); }
      });
    }

    box.addEventListener("input", function () {
      var text = box.value.trim();
      if (chosen && text) {
        // Typing searches; the chosen place stays until another is picked or the box is emptied.
        input.value = chosen.pcode;
      } else {
        // Not picked yet: the typed text is sent as is. The server accepts a P-code, a name that
        // designates one place or a full label, and otherwise says what is wrong — nothing is dropped.
        chosen = null;
        input.value = text;
      }
      clearTimeout(timer);
      timer = setTimeout(lookup, 200);
    });

    box.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        // Enter in a combobox picks the highlighted option or does nothing; it never submits.
        event.preventDefault();
        if (!list.hidden && active >= 0 && results[active]) { choose(results[active]); }
        return;
      }
      if (list.hidden) {
        if (event.key === "ArrowDown") {
          event.preventDefault();
          lookup();
        } else if (event.key === "Escape" && box.value) {
          event.preventDefault();
          restore();
        }
        return;
      }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(active + 1 >= results.length ? 0 : active + 1);
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(active <= 0 ? results.length - 1 : active - 1);
      } else if (event.key === "Home" && active >= 0) {
        event.preventDefault();
        highlight(0);
      } else if (event.key === "End" && active >= 0) {
        event.preventDefault();
        highlight(results.length - 1);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
      }
    });

    function restore() {
      if (chosen && box.value !== chosen.label) { box.value = chosen.label; }
    }

    box.addEventListener("blur", function () {
      clearTimeout(timer);
      latest += 1; // a search still running must not reopen the list
      close();
      restore();
    });

    // A P-code posted back after an error has no label yet: look it up once.
    if (!input.dataset.label && PCODE.test(input.value)) {
      search(config.url, input.value).then(function (data) {
        var code = input.value.toUpperCase();
        var match = data.results.filter(function (p) { return p.pcode === code; })[0];
        if (match && box.value === input.value) {
          chosen = { pcode: match.pcode, label: match.label };
          box.value = match.label;
        }
      }).catch(function () { /* keep showing the P-code */ });
    }
  }

  function enhanceAll(root) {
    root.querySelectorAll("input[data-place-picker]").forEach(enhance);
  }

  document.addEventListener("formset:added", function (event) { enhanceAll(event.target); });
  enhanceAll(document);
})();
