// The comparison control of each image: A below, B above it clipped at the slider; Flip shows all of A or all of B.
// Versions are looked up by their grid figure, so every picture is embedded once.
"use strict";
document.querySelectorAll("article.image").forEach(function (article) {
  var box = article.querySelector("[data-role=compare]");
  var pick = { a: box.querySelector("[data-role=a]"), b: box.querySelector("[data-role=b]") };
  var slide = box.querySelector("[data-role=slide]");
  var top = box.querySelector("[data-role=top]");
  var divider = box.querySelector("[data-role=divider]");
  var images = { a: box.querySelector("[data-role=img-a]"), b: box.querySelector("[data-role=img-b]") };
  var labels = { a: box.querySelector("[data-role=label-a]"), b: box.querySelector("[data-role=label-b]") };

  function figure(version) {
    return article.querySelector('figure.version[data-version="' + version + '"]');
  }
  function show() {
    top.style.clipPath = "inset(0 0 0 " + slide.value + "%)";
    divider.style.left = slide.value + "%";
  }
  function load() {
    ["a", "b"].forEach(function (side) {
      var found = figure(pick[side].value);
      var img = found && found.querySelector("img");
      images[side].src = img ? img.src : "";
      labels[side].textContent = side.toUpperCase() + ": " + (pick[side].selectedOptions[0] || { text: "" }).text;
    });
    article.querySelectorAll("figure.version").forEach(function (f) {
      f.classList.toggle("is-a", f.dataset.version === pick.a.value);
      f.classList.toggle("is-b", f.dataset.version === pick.b.value);
    });
    show();
  }
  if (pick.b.options.length > 1) pick.b.selectedIndex = 1;  // original (A) against the first reconstruction (B)
  pick.a.addEventListener("change", load);
  pick.b.addEventListener("change", load);
  slide.addEventListener("input", show);
  box.querySelector("[data-role=flip]").addEventListener("click", function () {
    slide.value = Number(slide.value) > 0 ? 0 : 100;
    show();
  });
  article.querySelectorAll("figure.version").forEach(function (f) {
    f.addEventListener("click", function (event) {
      var select = event.shiftKey ? pick.a : pick.b;
      if (!f.querySelector("img")) return;
      select.value = f.dataset.version;
      load();
    });
  });
  load();
});
