/* Place picker: turns each P-code box ([data-place-picker]) into a search by name that shows
   "Région › Département › Commune". Without JavaScript the P-code box works on its own. */
(function () {
  "use strict";

  var PCODE = /^NE\d{3}(\d{3}){0,2}$/i;
  var counter = 0;

  function settings(input) {
    var form = input.closest("[data-places-url]");
    return {
      url: form ? form.dataset.placesUrl : null,
      empty: form ? form.dataset.pickerEmpty : "",
      error: form ? form.dataset.pickerError : ""
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
    ["aria-describedby", "aria-invalid", "placeholder"].forEach(function (name) {
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
    list.hidden = true;
    input.parentNode.insertBefore(wrapper, input);
    wrapper.appendChild(box);
    wrapper.appendChild(list);
    wrapper.appendChild(input);

    var results = [];
    var active = -1;
    var timer = null;
    var latest = 0;

    function close() {
      list.hidden = true;
      list.textContent = "";
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
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
      input.value = place.pcode;
      box.value = place.label;
      input.dispatchEvent(new Event("change", { bubbles: true }));
      close();
    }

    function show(places, message) {
      results = places;
      list.textContent = "";
      places.forEach(function (place, i) {
        var item = document.createElement("li");
        item.id = listId + "-" + i;
        item.className = "list-group-item list-group-item-action py-1";
        item.setAttribute("role", "option");
        item.setAttribute("aria-selected", "false");
        item.dataset.pcode = place.pcode;
        var label = document.createElement("span");
        label.textContent = place.label;
        var detail = document.createElement("small");
        detail.className = "text-body-secondary ms-2";
        detail.textContent = place.level + " · " + place.pcode;
        item.appendChild(label);
        item.appendChild(detail);
        item.addEventListener("mousedown", function (event) {
          event.preventDefault(); // keep the focus in the box
          choose(place);
        });
        list.appendChild(item);
      });
      if (!places.length && message) {
        var none = document.createElement("li");
        none.className = "list-group-item text-body-secondary py-1";
        none.textContent = message;
        list.appendChild(none);
      }
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
      active = -1;
    }

    function lookup() {
      var query = box.value.trim();
      if (query.length < 2) { close(); return; }
      var ticket = ++latest;
      search(config.url, query).then(function (data) {
        if (ticket === latest) { show(data.results, config.empty); }
      }).catch(function () {
        if (ticket === latest) { show([], config.error); }
      });
    }

    box.addEventListener("input", function () {
      // Until a place is picked, the typed text is sent as is: the server accepts a P-code or a
      // name that designates one place, and otherwise says what is wrong — nothing is dropped.
      input.value = box.value.trim();
      clearTimeout(timer);
      timer = setTimeout(lookup, 200);
    });

    box.addEventListener("keydown", function (event) {
      if (list.hidden) {
        if (event.key === "ArrowDown") { lookup(); }
        return;
      }
      if (event.key === "ArrowDown") {
        event.preventDefault();
        highlight(Math.min(active + 1, results.length - 1));
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        highlight(Math.max(active - 1, 0));
      } else if (event.key === "Enter") {
        if (active >= 0 && results[active]) {
          event.preventDefault();
          choose(results[active]);
        }
      } else if (event.key === "Escape") {
        close();
      }
    });

    box.addEventListener("blur", function () { setTimeout(close, 150); });

    // A P-code posted back after an error has no label yet: look it up once.
    if (!input.dataset.label && PCODE.test(input.value)) {
      search(config.url, input.value).then(function (data) {
        var match = data.results.filter(function (p) { return p.pcode === input.value.toUpperCase(); })[0];
        if (match && box.value === input.value) { box.value = match.label; }
      }).catch(function () { /* keep showing the P-code */ });
    }
  }

  function enhanceAll(root) {
    root.querySelectorAll("input[data-place-picker]").forEach(enhance);
  }

  document.addEventListener("formset:added", function (event) { enhanceAll(event.target); });
  enhanceAll(document);
})();
