/*
 * Campaign widget: live petition counter, sign form and donate step for any web page.
 *
 *   <div data-campaign-widget data-petition="my-petition" data-api="https://campaign.example.org"></div>
 *   <script src="https://campaign.example.org/static/widget/campaign-widget.js" defer></script>
 *
 * Plain JavaScript, no dependencies, no build step. Licence: AGPL-3.0-or-later.
 * Emits bubbling DOM events on the container: "count", "signed", "donated".
 */
(function () {
  "use strict";

  var VERSION = "1.0.0";
  var script = document.currentScript;
  var scriptSrc = script && script.src ? script.src : "";
  var instances = 0;

  var T = {
    de: {
      signatures: "Unterschriften",
      goal: "Nächstes Ziel: {goal}",
      progress: "{count} von {goal} Unterschriften",
      heading: "Jetzt unterschreiben",
      first_name: "Vorname",
      last_name: "Nachname",
      email: "E-Mail-Adresse",
      postcode: "Postleitzahl",
      region_note: "Ihre Unterschrift zählt im Wahlkreis {number} {name} ({state}).",
      region_recipients: "Die Zahl erhält: {names}.",
      country: "Land",
      city: "Ort (freiwillig)",
      privacy_consent: "Einwilligung",
      newsletter_consent: "Ja, ich möchte per E-Mail über die Kampagne informiert werden (jederzeit abbestellbar).",
      show_name_publicly: "Meinen Vornamen und Ort öffentlich als Unterstützer*in zeigen.",
      share_name_with_officials: "Meinen Namen bei der Übergabe an die Adressat*innen der Petition nennen.",
      consent_version: "Version {version}",
      sign: "Unterschreiben",
      sending: "Wird gesendet …",
      solving: "Spam-Schutz wird berechnet …",
      required: "Bitte ausfüllen.",
      consent_required: "Bitte stimmen Sie zu, um zu unterschreiben.",
      invalid_email: "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
      check_fields: "Bitte prüfen Sie die markierten Felder: {fields}.",
      inbox_title: "Fast geschafft: Bitte bestätigen Sie Ihre E-Mail-Adresse",
      inbox_text: "Wir haben Ihnen eine E-Mail geschickt. Erst wenn Sie den Link darin anklicken, zählt Ihre Unterschrift. Schauen Sie auch im Spam-Ordner nach.",
      closed: "Diese Petition nimmt keine Unterschriften mehr an.",
      load_failed: "Das Formular konnte nicht geladen werden.",
      cors: "Diese Website ist nicht für die Kampagne freigeschaltet, daher kann hier nicht unterschrieben werden.",
      offline: "Keine Verbindung. Bitte prüfen Sie Ihre Internetverbindung und versuchen Sie es erneut.",
      retry: "Bitte versuchen Sie es gleich noch einmal.",
      send_failed: "Ihre Angaben konnten nicht gesendet werden.",
      throttled: "Zu viele Versuche in kurzer Zeit. Bitte versuchen Sie es in einer Minute erneut.",
      server_error: "Ein Fehler ist aufgetreten. Bitte versuchen Sie es später erneut.",
      recent: "Zuletzt unterschrieben",
      donate_offer: "Möchten Sie die Kampagne zusätzlich mit einer Spende unterstützen?",
      donate_heading: "Spenden",
      amount: "Betrag",
      other_amount: "Anderer Betrag in Euro",
      interval: "Rhythmus",
      once: "Einmalig",
      month: "Monatlich",
      per_month: "{amount} monatlich",
      cover_fees: "Ich übernehme die Transaktionsgebühren, damit meine Spende vollständig ankommt.",
      payment_method: "Zahlungsart",
      card: "Kreditkarte",
      sepa_debit: "SEPA-Lastschrift",
      card_details: "Kartendaten",
      wallet: "Mit Apple Pay oder Google Pay spenden",
      wallet_or: "Oder mit Karte oder Lastschrift:",
      wallet_monthly_label: "Monatliche Spende",
      iban: "IBAN",
      invalid_iban: "Diese IBAN ist ungültig. Bitte prüfen Sie die Eingabe.",
      invalid_amount: "Bitte wählen Sie einen Betrag von mindestens 1 €.",
      wants_receipt: "Ich möchte eine Zuwendungsbestätigung (Spendenquittung).",
      street: "Straße und Hausnummer",
      city_required: "Ort",
      donate: "{amount} spenden",
      donate_month: "{amount} monatlich spenden",
      mandate: "Ich ermächtige {org} und Stripe, unseren Zahlungsdienstleister, Zahlungen von meinem Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein Kreditinstitut an, die von {org} auf mein Konto gezogenen Lastschriften einzulösen. Hinweis: Ich kann innerhalb von acht Wochen, beginnend mit dem Belastungsdatum, die Erstattung des belasteten Betrages verlangen. Es gelten dabei die mit meinem Kreditinstitut vereinbarten Bedingungen.",
      processing: "Zahlung wird verarbeitet …",
      payment_failed: "Die Zahlung ist nicht zustande gekommen: {message}",
      payment_unavailable: "Spenden ist hier gerade nicht möglich.",
      thanks_title: "Vielen Dank für Ihre Spende!",
      thanks_text: "Sie erhalten in Kürze eine Bestätigung per E-Mail.",
      thanks_sepa: "Der Betrag wird in den nächsten Tagen von Ihrem Konto eingezogen. Sie erhalten eine Bestätigung per E-Mail.",
    },
    en: {
      signatures: "signatures",
      goal: "Next goal: {goal}",
      progress: "{count} of {goal} signatures",
      heading: "Sign now",
      first_name: "First name",
      last_name: "Last name",
      email: "Email address",
      postcode: "Postcode",
      region_note: "Your signature counts for constituency {number} {name} ({state}).",
      region_recipients: "The count goes to: {names}.",
      country: "Country",
      city: "Town or city (optional)",
      privacy_consent: "Consent",
      newsletter_consent: "Yes, keep me informed about the campaign by email (unsubscribe at any time).",
      show_name_publicly: "Show my first name and town publicly as a supporter.",
      share_name_with_officials: "Include my name when the petition is handed over to the officials.",
      consent_version: "Version {version}",
      sign: "Sign",
      sending: "Sending …",
      solving: "Computing the spam protection …",
      required: "Please fill in this field.",
      consent_required: "Please agree in order to sign.",
      invalid_email: "Please enter a valid email address.",
      check_fields: "Please check the marked fields: {fields}.",
      inbox_title: "Almost done: please confirm your email address",
      inbox_text: "We have sent you an email. Your signature counts once you click the link in it. Please check your spam folder too.",
      closed: "This petition no longer accepts signatures.",
      load_failed: "The form could not be loaded.",
      cors: "This website is not enabled for the campaign, so signing is not possible here.",
      offline: "No connection. Please check your internet connection and try again.",
      retry: "Please try again in a moment.",
      send_failed: "Your details could not be sent.",
      throttled: "Too many attempts in a short time. Please try again in a minute.",
      server_error: "Something went wrong. Please try again later.",
      recent: "Recently signed",
      donate_offer: "Would you also like to support the campaign with a donation?",
      donate_heading: "Donate",
      amount: "Amount",
      other_amount: "Other amount in euros",
      interval: "Frequency",
      once: "One-off",
      month: "Monthly",
      per_month: "{amount} a month",
      cover_fees: "I will cover the transaction fees so that my whole gift arrives.",
      payment_method: "Payment method",
      card: "Card",
      sepa_debit: "SEPA Direct Debit",
      card_details: "Card details",
      wallet: "Donate with Apple Pay or Google Pay",
      wallet_or: "Or by card or direct debit:",
      wallet_monthly_label: "Monthly donation",
      iban: "IBAN",
      invalid_iban: "This IBAN is not valid. Please check it.",
      invalid_amount: "Please choose an amount of at least €1.",
      wants_receipt: "I would like a donation receipt (Zuwendungsbestätigung).",
      street: "Street and number",
      city_required: "Town or city",
      donate: "Donate {amount}",
      donate_month: "Donate {amount} a month",
      mandate: "By providing your IBAN and confirming this payment, you authorise (A) {org} and Stripe, our payment service provider, to send instructions to your bank to debit your account and (B) your bank to debit your account in accordance with those instructions. As part of your rights, you are entitled to a refund from your bank under the terms and conditions of your agreement with your bank. A refund must be claimed within 8 weeks starting from the date on which your account was debited.",
      processing: "Processing the payment …",
      payment_failed: "The payment did not go through: {message}",
      payment_unavailable: "Donating is not possible here right now.",
      thanks_title: "Thank you for your donation!",
      thanks_text: "You will receive a confirmation by email shortly.",
      thanks_sepa: "The amount will be debited from your account in the next few days. You will receive a confirmation by email.",
    },
  };

  // Countries offered first, then the rest of the EU/EEA and a few more, named by the browser.
  var COUNTRIES = ("DE AT CH LU BE NL FR IT ES PT PL CZ DK SE NO FI IE GB LI SK SI HU HR RO BG GR " +
    "CY MT EE LV LT IS US CA AU NZ TR UA").split(" ");
  var IBAN_LENGTHS = {
    AD: 24, AT: 20, BE: 16, BG: 22, CH: 21, CY: 28, CZ: 24, DE: 22, DK: 18, EE: 20, ES: 24,
    FI: 18, FR: 27, GB: 22, GI: 23, GR: 27, HR: 21, HU: 28, IE: 22, IS: 26, IT: 27, LI: 21,
    LT: 20, LU: 20, LV: 21, MC: 27, MT: 31, NL: 18, NO: 15, PL: 28, PT: 25, RO: 24, SE: 24,
    SI: 19, SK: 24, SM: 27, VA: 22,
  };
  // The API answers in English; German pages show its common messages in German.
  var API_MESSAGES_DE = {
    "This field is required.": "Bitte ausfüllen.",
    "Enter a valid e-mail address.": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
    "Enter a valid email address.": "Bitte geben Sie eine gültige E-Mail-Adresse ein.",
    "Not a valid postcode for this country.": "Diese Postleitzahl passt nicht zum gewählten Land.",
    "You must agree to the privacy policy.": "Bitte stimmen Sie zu, um zu unterschreiben.",
    "The consent text has changed; please reload the page.": "Der Einwilligungstext hat sich geändert. Bitte laden Sie die Seite neu.",
    "Must not start with = + - or @.": "Darf nicht mit = + - oder @ beginnen.",
  };
  var SIGN_FIELDS = ["first_name", "last_name", "email", "postcode", "country", "city",
    "privacy_consent", "newsletter_consent", "show_name_publicly", "share_name_with_officials"];
  var DONATE_FIELDS = ["amount", "interval", "payment_method", "first_name", "last_name", "email",
    "iban", "card", "wants_receipt", "street", "postcode", "city", "country"];

  // --- small helpers -----------------------------------------------------------------------

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) {
      return values && values[key] != null ? values[key] : "";
    });
  }

  function h(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value == null || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.slice(0, 2) === "on") node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) {
      if (child != null) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function translated(value, lang) {
    if (value && typeof value === "object") return value[lang] || value.de || value.en || "";
    return value == null ? "" : String(value);
  }

  function validIban(value) {
    var iban = String(value || "").replace(/\s+/g, "").toUpperCase();
    if (!/^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$/.test(iban)) return false;
    var length = IBAN_LENGTHS[iban.slice(0, 2)];
    if (!length || iban.length !== length) return false;
    var rearranged = iban.slice(4) + iban.slice(0, 4);
    var remainder = 0;
    for (var i = 0; i < rearranged.length; i++) {
      var code = rearranged.charCodeAt(i);
      var digits = code >= 65 ? String(code - 55) : rearranged[i];
      for (var j = 0; j < digits.length; j++) remainder = (remainder * 10 + Number(digits[j])) % 97;
    }
    return remainder === 1;
  }

  function hex(buffer) {
    return Array.prototype.map.call(new Uint8Array(buffer), function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  // ALTCHA proof of work: find the number whose SHA-256(salt + number) is the challenge.
  async function solveAltcha(challenge) {
    var max = challenge.maxnumber || challenge.maxNumber || challenge.max_number || 1000000;
    var encoder = new TextEncoder();
    var started = Date.now();
    for (var n = 0; n <= max; n++) {
      var digest = await crypto.subtle.digest("SHA-256", encoder.encode(challenge.salt + n));
      if (hex(digest) === challenge.challenge) {
        return btoa(JSON.stringify({
          algorithm: challenge.algorithm || "SHA-256",
          challenge: challenge.challenge,
          number: n,
          salt: challenge.salt,
          signature: challenge.signature,
          took: Date.now() - started,
        }));
      }
    }
    throw new Error("altcha: no solution");
  }

  var stripeLoads = {};
  function loadScript(url) {
    if (!stripeLoads[url]) {
      stripeLoads[url] = new Promise(function (resolve, reject) {
        var tag = document.createElement("script");
        tag.src = url;
        tag.onload = resolve;
        tag.onerror = function () { delete stripeLoads[url]; reject(new Error("script " + url)); };
        document.head.appendChild(tag);
      });
    }
    return stripeLoads[url];
  }

  function ensureStylesheet(apiBase) {
    var href = scriptSrc ? scriptSrc.replace(/\.js(\?.*)?$/, ".css") : apiBase + "/static/widget/campaign-widget.css";
    var links = document.querySelectorAll('link[rel="stylesheet"]');
    for (var i = 0; i < links.length; i++) {
      if (/campaign-widget(\.[0-9a-f]+)?\.css/.test(links[i].href)) return;
    }
    document.head.appendChild(h("link", { rel: "stylesheet", href: href }));
  }

  // --- the widget --------------------------------------------------------------------------

  function Widget(container) {
    this.el = container;
    this.id = "cw" + ++instances;
    var data = container.dataset;
    var langSource = data.lang || (container.closest("[lang]") || document.documentElement).getAttribute("lang") || "de";
    this.lang = langSource.toLowerCase().slice(0, 2) === "en" ? "en" : "de";
    this.t = T[this.lang];
    this.api = (data.api || (scriptSrc ? new URL(scriptSrc).origin : "")).replace(/\/+$/, "");
    this.slug = data.petition;
    this.refreshSeconds = Math.max(1, Number(data.refresh) || 30);
    this.numberFormat = new Intl.NumberFormat(this.lang === "en" ? "en-GB" : "de-DE");
    var locale = this.lang === "en" ? "en-GB" : "de-DE";
    var whole = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR", minimumFractionDigits: 0, maximumFractionDigits: 0 });
    var cents = new Intl.NumberFormat(locale, { style: "currency", currency: "EUR" });
    // "25 €" for whole euros, "12,50 €" otherwise (never "12,5 €").
    this.moneyFormat = { format: function (euros) { return (euros % 1 ? cents : whole).format(euros); } };
    // A page that already knows the signer (the confirmation page) passes them in, so the
    // donation step does not ask for name and address again.
    this.signer = data.signerEmail
      ? { first_name: data.signerFirstName || "", last_name: data.signerLastName || "", email: data.signerEmail }
      : {};
    if (data.css !== "false") ensureStylesheet(this.api);
    this.render();
    this.load();
  }

  Widget.prototype.emit = function (name, detail) {
    this.el.dispatchEvent(new CustomEvent(name, { bubbles: true, detail: detail }));
  };

  Widget.prototype.request = async function (method, path, body) {
    var options = {
      method: method,
      mode: "cors",
      credentials: "omit",
      // A CORS-safelisted header: the API answers its messages in the widget's language.
      headers: { Accept: "application/json", "Accept-Language": this.lang },
    };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    if (method === "GET" && /\/count\/$/.test(path)) options.cache = "no-cache";
    var response = await fetch(this.api + path, options);
    var payload = {};
    try { payload = await response.json(); } catch (error) { payload = {}; }
    return { status: response.status, ok: response.ok, data: payload || {} };
  };

  // A fetch that never reached a response: offline, or the API refused this origin (CORS).
  // Once the petition has loaded, CORS is known to work and a failure is a lost connection.
  Widget.prototype.networkMessage = function () {
    if (navigator.onLine === false) return this.t.offline;
    return this.petition ? this.t.retry : this.t.cors;
  };

  Widget.prototype.announce = function (text) {
    // Clear first so the same message is announced again.
    var live = this.live;
    live.textContent = "";
    setTimeout(function () { live.textContent = text; }, 50);
  };

  Widget.prototype.render = function () {
    var t = this.t;
    this.el.classList.add("cw");
    this.el.setAttribute("lang", this.lang);
    this.el.textContent = "";
    this.countNumber = h("strong", { className: "cw-count-number", text: "–" });
    this.bar = h("span", { className: "cw-progress-bar" });
    this.progress = h("div", {
      className: "cw-progress", role: "progressbar", "aria-valuemin": "0", hidden: true,
    }, [this.bar]);
    this.goalText = h("p", { className: "cw-goal" });
    this.counter = h("div", { className: "cw-counter" }, [
      h("p", { className: "cw-count" }, [this.countNumber, " ", h("span", { text: t.signatures })]),
      this.progress,
      this.goalText,
    ]);
    this.live = h("div", { className: "cw-sr-only", "aria-live": "polite", role: "status" });
    this.alert = h("div", { className: "cw-alert", role: "alert", hidden: true, tabindex: "-1" });
    this.body = h("div", { className: "cw-body" });
    this.el.appendChild(this.counter);
    this.el.appendChild(this.alert);
    this.el.appendChild(this.body);
    this.el.appendChild(this.live);
  };

  Widget.prototype.showAlert = function (text) {
    this.alert.textContent = text;
    this.alert.hidden = !text;
  };

  Widget.prototype.load = async function () {
    var self = this;
    if (!this.slug) {
      this.showAlert(this.t.load_failed);
      return;
    }
    var result;
    try {
      result = await this.request("GET", "/api/v1/petitions/" + encodeURIComponent(this.slug) + "/");
    } catch (error) {
      this.showAlert(this.t.load_failed + " " + this.networkMessage());
      this.el.classList.add("cw-unavailable");
      return;
    }
    if (!result.ok) {
      this.showAlert(this.t.load_failed);
      return;
    }
    this.petition = result.data;
    this.updateCount(result.data);
    var campaign = this.el.dataset.campaign || result.data.campaign;
    this.campaignSlug = campaign && typeof campaign === "object" ? campaign.slug : campaign;
    if (this.el.dataset.show !== "counter") {
      if (result.data.is_open === false) this.showAlert(this.t.closed);
      else this.renderForm();
    }
    if (Number(this.el.dataset.recentSigners) > 0) this.loadRecent();
    this.scheduleRefresh();
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden) self.refreshCount();
    });
    if (this.el.dataset.step === "donate") this.renderDonateOffer(true);
  };

  Widget.prototype.scheduleRefresh = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = setTimeout(function () {
      (document.hidden ? Promise.resolve() : self.refreshCount()).then(function () { self.scheduleRefresh(); });
    }, this.refreshSeconds * 1000);
  };

  Widget.prototype.refreshCount = async function () {
    try {
      var result = await this.request("GET", "/api/v1/petitions/" + encodeURIComponent(this.slug) + "/count/");
      if (result.ok) this.updateCount(result.data);
    } catch (error) {
      // Keep showing the last count; the next refresh tries again.
    }
  };

  Widget.prototype.updateCount = function (data) {
    var count = Number(data.signature_count) || 0;
    var goal = Number(data.goal) || 0;
    var changed = count !== this.count || goal !== this.goal;
    this.count = count;
    this.goal = goal;
    this.countNumber.textContent = this.numberFormat.format(count);
    this.el.setAttribute("data-count", String(count));
    if (goal > 0) {
      var percent = Math.min(100, (count / goal) * 100);
      this.progress.hidden = false;
      this.progress.setAttribute("aria-valuemax", String(goal));
      this.progress.setAttribute("aria-valuenow", String(Math.min(count, goal)));
      this.progress.setAttribute("aria-valuetext", fmt(this.t.progress, {
        count: this.numberFormat.format(count), goal: this.numberFormat.format(goal),
      }));
      this.bar.style.width = percent.toFixed(2) + "%";
      this.goalText.textContent = fmt(this.t.goal, { goal: this.numberFormat.format(goal) });
    } else {
      this.progress.hidden = true;
      this.goalText.textContent = "";
    }
    if (changed) {
      this.emit("count", { petition: this.slug, signature_count: count, goal: goal || null });
    }
  };

  Widget.prototype.loadRecent = async function () {
    var list = h("ul", { className: "cw-recent-list" });
    var box = h("section", { className: "cw-recent", "aria-labelledby": this.id + "-recent" }, [
      h("h3", { id: this.id + "-recent", text: this.t.recent }), list,
    ]);
    this.el.appendChild(box);
    try {
      var result = await this.request("GET", "/api/v1/petitions/" + encodeURIComponent(this.slug) + "/recent-signers/");
      var items = Array.isArray(result.data) ? result.data : result.data.results || [];
      var limit = Number(this.el.dataset.recentSigners);
      var when = new Intl.DateTimeFormat(this.lang === "en" ? "en-GB" : "de-DE", { dateStyle: "medium", timeStyle: "short" });
      items.slice(0, limit).forEach(function (item) {
        var name = item.name || [item.first_name, item.last_initial || item.initial].filter(Boolean).join(" ");
        var at = item.signed_at || item.confirmed_at || item.time || item.created_at;
        list.appendChild(h("li", {}, [
          h("span", { className: "cw-recent-name", text: name + (item.city ? ", " + item.city : "") }),
          at ? h("time", { datetime: at, text: when.format(new Date(at)) }) : null,
        ]));
      });
      box.hidden = !list.children.length;
    } catch (error) {
      box.hidden = true;
    }
  };

  // --- form building blocks ----------------------------------------------------------------

  Widget.prototype.field = function (form, name, label, input, options) {
    options = options || {};
    var id = this.id + "-" + form.prefix + "-" + name;
    var errorId = id + "-error";
    input.id = id;
    input.name = name;
    input.setAttribute("aria-describedby", [options.describedBy, errorId].filter(Boolean).join(" "));
    if (options.required) input.setAttribute("aria-required", "true");
    var error = h("p", { className: "cw-error", id: errorId, hidden: true });
    var wrapper;
    if (input.type === "checkbox") {
      wrapper = h("div", { className: "cw-field cw-check" + (options.className ? " " + options.className : "") }, [
        input, h("label", { for: id }, [label]), options.after || null, error,
      ]);
    } else {
      wrapper = h("div", { className: "cw-field" + (options.className ? " " + options.className : "") }, [
        h("label", { for: id, text: label }), input, options.after || null, error,
      ]);
    }
    // A corrected field drops its error at once.
    input.addEventListener(input.type === "checkbox" || input.tagName === "SELECT" ? "change" : "input", function () {
      if (input.getAttribute("aria-invalid") !== "true") return;
      input.removeAttribute("aria-invalid");
      error.hidden = true;
      error.textContent = "";
      var remaining = Object.keys(form.errors).some(function (key) { return !form.errors[key].hidden; });
      if (!remaining) form.general.hidden = true;
    });
    form.inputs[name] = input;
    form.errors[name] = error;
    form.labels[name] = typeof label === "string" ? label : label.textContent;
    return wrapper;
  };

  Widget.prototype.clearErrors = function (form) {
    Object.keys(form.errors).forEach(function (name) {
      form.errors[name].hidden = true;
      form.errors[name].textContent = "";
      if (form.inputs[name]) form.inputs[name].removeAttribute("aria-invalid");
    });
    form.general.hidden = true;
    form.general.textContent = "";
  };

  // Shows errors next to their fields, announces them and moves focus to the first one.
  Widget.prototype.showErrors = function (form, fields, fallback) {
    var names = [];
    var general = [];
    var first = null;
    var self = this;
    Object.keys(fields || {}).forEach(function (name) {
      var messages = [].concat(fields[name]).map(function (m) {
        m = typeof m === "string" ? m : JSON.stringify(m);
        return self.lang === "de" && API_MESSAGES_DE[m] ? API_MESSAGES_DE[m] : m;
      });
      var target = form.errors[name] ? name : form.aliases && form.aliases[name];
      if (target && form.errors[target]) {
        form.errors[target].textContent = messages.join(" ");
        form.errors[target].hidden = false;
        if (form.inputs[target]) {
          form.inputs[target].setAttribute("aria-invalid", "true");
          if (!first) first = form.inputs[target];
        }
        names.push(form.labels[target]);
      } else {
        general.push(messages.join(" "));
      }
    });
    var summary = names.length ? fmt(self.t.check_fields, { fields: names.join(", ") }) : "";
    var text = [summary].concat(general).concat(names.length || general.length ? [] : [fallback || self.t.send_failed])
      .filter(Boolean).join(" ");
    form.general.textContent = text;
    form.general.hidden = false;
    this.announce(text);
    if (first) first.focus();
    else form.general.focus();
  };

  Widget.prototype.submitting = function (form, busy, label) {
    form.submit.disabled = busy;
    form.submit.setAttribute("aria-busy", busy ? "true" : "false");
    form.submit.textContent = label;
    form.node.setAttribute("aria-busy", busy ? "true" : "false");
  };

  function newForm(prefix, className) {
    var general = h("p", { className: "cw-form-error", role: "alert", tabindex: "-1", hidden: true });
    var node = h("form", { className: className, novalidate: true });
    return { prefix: prefix, node: node, inputs: {}, errors: {}, labels: {}, general: general };
  }

  function countrySelect(lang, selected) {
    var names = null;
    try { names = new Intl.DisplayNames([lang], { type: "region" }); } catch (error) { names = null; }
    var select = h("select", { autocomplete: "country" });
    COUNTRIES.forEach(function (code) {
      select.appendChild(h("option", { value: code, text: names ? names.of(code) : code, selected: code === selected }));
    });
    return select;
  }

  // --- the sign form -----------------------------------------------------------------------

  Widget.prototype.renderForm = function () {
    var t = this.t;
    var self = this;
    var petition = this.petition;
    var form = newForm("sign", "cw-form cw-sign");
    this.signForm = form;
    var consentText = translated(petition.consent_text, this.lang);
    var consentLabel = h("span", {}, [consentText]);
    var consentVersion = h("span", {
      className: "cw-consent-version", id: this.id + "-consent-version",
      text: fmt(t.consent_version, { version: petition.consent_version || "" }),
    });
    var country = (this.el.dataset.country || "DE").toUpperCase();
    var heading = h("h3", { className: "cw-heading", id: this.id + "-sign-heading", text: t.heading });
    form.node.setAttribute("aria-labelledby", heading.id);
    var honeypot = h("input", { type: "text", name: "website", tabindex: "-1", autocomplete: "off", value: "" });
    form.honeypot = honeypot;
    // Hidden from people and screen readers; bots that fill every field give themselves away.
    var trap = h("div", { className: "cw-hp", "aria-hidden": "true" }, [h("label", {}, ["Website", honeypot])]);
    // Set through the CSSOM (allowed under a strict style-src), in case the stylesheet is missing.
    trap.style.cssText = "position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden";
    form.submit = h("button", { type: "submit", className: "cw-button", text: t.sign });
    // Which constituency the signature counts for, looked up while the form is filled in; the
    // sign step never waits for it.
    form.regionNote = h("p", { className: "cw-region", id: this.id + "-region", hidden: true });
    [
      heading,
      h("div", { className: "cw-row" }, [
        this.field(form, "first_name", t.first_name, h("input", { type: "text", autocomplete: "given-name", maxlength: "100", required: true }), { required: true }),
        this.field(form, "last_name", t.last_name, h("input", { type: "text", autocomplete: "family-name", maxlength: "100", required: true }), { required: true }),
      ]),
      this.field(form, "email", t.email, h("input", { type: "email", autocomplete: "email", inputmode: "email", maxlength: "254", required: true }), { required: true }),
      h("div", { className: "cw-row" }, [
        this.field(form, "postcode", t.postcode, h("input", { type: "text", autocomplete: "postal-code", maxlength: "12", required: true }), { required: true, className: "cw-narrow" }),
        this.field(form, "country", t.country, countrySelect(this.lang, country), { required: true }),
      ]),
      form.regionNote,
      this.field(form, "city", t.city, h("input", { type: "text", autocomplete: "address-level2", maxlength: "100" })),
      this.field(form, "privacy_consent", consentLabel, h("input", { type: "checkbox", required: true }), {
        required: true, describedBy: consentVersion.id, after: consentVersion, className: "cw-consent",
      }),
      this.field(form, "newsletter_consent", t.newsletter_consent, h("input", { type: "checkbox" })),
      this.field(form, "show_name_publicly", t.show_name_publicly, h("input", { type: "checkbox" })),
      this.field(form, "share_name_with_officials", t.share_name_with_officials, h("input", { type: "checkbox" })),
      trap,
      form.general,
      form.submit,
    ].forEach(function (child) { form.node.appendChild(child); });
    form.aliases = { consent_version: "privacy_consent", non_field_errors: null };
    var lookup = function () {
      clearTimeout(form.regionTimer);
      form.regionTimer = setTimeout(function () { self.lookupRegion(); }, 250);
    };
    // Read out with the postcode field (the form keeps one live region, for errors).
    form.inputs.postcode.setAttribute("aria-describedby", form.inputs.postcode.getAttribute("aria-describedby") + " " + form.regionNote.id);
    form.inputs.postcode.addEventListener("input", lookup);
    form.inputs.country.addEventListener("change", lookup);
    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      self.sign();
    });
    if (petition.altcha_enabled || petition.altcha) {
      form.node.addEventListener("focusin", function () { self.altchaStart(); }, { once: true });
    }
    this.body.textContent = "";
    this.body.appendChild(form.node);
  };

  Widget.prototype.lookupRegion = function () {
    var t = this.t;
    var form = this.signForm;
    var note = form.regionNote;
    var postcode = form.inputs.postcode.value.replace(/\s+/g, "");
    var country = form.inputs.country.value;
    var asked = country + ":" + postcode;
    form.regionAsked = asked;
    note.hidden = true;
    note.textContent = "";
    if (country !== "DE" || !/^\d{5}$/.test(postcode)) return;
    var path = "/api/v1/regions/lookup/?country=" + encodeURIComponent(country) + "&postcode=" + encodeURIComponent(postcode);
    this.request("GET", path).then(function (result) {
      if (form.regionAsked !== asked || !result.ok || !result.data.constituencies.length) return;
      var constituency = result.data.constituencies[0];
      // The member elected there, or the list members who look after it.
      var names = result.data.officials.filter(function (official) {
        return official.constituency_number === constituency.number;
      }).map(function (official) { return official.name + " (" + official.party + ")"; });
      note.textContent = fmt(t.region_note, constituency) +
        (names.length ? " " + fmt(t.region_recipients, { names: names.join(", ") }) : "");
      note.hidden = false;
    }).catch(function () { /* only a hint: the form works without it */ });
  };

  Widget.prototype.altchaStart = function () {
    var self = this;
    if (!this.altchaPromise) {
      this.altchaPromise = this.request("GET", "/api/v1/altcha/challenge/").then(function (result) {
        if (!result.ok) throw new Error("altcha challenge " + result.status);
        return solveAltcha(result.data);
      });
      this.altchaPromise.catch(function () { self.altchaPromise = null; });
    }
    return this.altchaPromise;
  };

  Widget.prototype.trackingFields = function () {
    var params = new URLSearchParams(window.location.search);
    var data = this.el.dataset;
    return {
      utm_source: (params.get("utm_source") || data.utmSource || "").slice(0, 100),
      utm_medium: (params.get("utm_medium") || data.utmMedium || "").slice(0, 100),
      utm_campaign: (params.get("utm_campaign") || data.utmCampaign || "").slice(0, 100),
      referrer: (document.referrer || "").slice(0, 500),
    };
  };

  // Only the donation keeps these: the petition it started from and the signed reference of
  // the signing that led to it (the confirmation page passes it, or its donate link does).
  Widget.prototype.attributionFields = function () {
    var params = new URLSearchParams(window.location.search);
    var data = this.el.dataset;
    var slugPattern = /^[-a-zA-Z0-9_]{1,80}$/;
    // The donate link of a confirmation page names its petition; else the widget's own.
    var petition = (params.get("signing_ref") && params.get("petition")) || this.slug || "";
    return {
      utm_term: (params.get("utm_term") || data.utmTerm || "").slice(0, 100),
      utm_content: (params.get("utm_content") || data.utmContent || "").slice(0, 100),
      petition: slugPattern.test(petition) ? petition : "",
      signing_ref: (data.signingRef || params.get("signing_ref") || "").slice(0, 300),
    };
  };

  Widget.prototype.checkRequired = function (form, names) {
    var t = this.t;
    var fields = {};
    names.forEach(function (name) {
      var input = form.inputs[name];
      if (!input) return;
      if (input.type === "checkbox" ? !input.checked : !input.value.trim()) {
        fields[name] = [name === "privacy_consent" ? t.consent_required : t.required];
      }
    });
    var email = form.inputs.email;
    if (email && email.value.trim() && !fields.email && !/^[^\s@]+@[^\s@]+$/.test(email.value.trim())) {
      fields.email = [t.invalid_email];
    }
    return fields;
  };

  Widget.prototype.sign = async function () {
    var t = this.t;
    var form = this.signForm;
    if (form.busy) return;
    this.clearErrors(form);
    var missing = this.checkRequired(form, ["first_name", "last_name", "email", "postcode", "country", "privacy_consent"]);
    if (Object.keys(missing).length) {
      this.showErrors(form, missing);
      return;
    }
    var values = {};
    SIGN_FIELDS.forEach(function (name) {
      var input = form.inputs[name];
      values[name] = input.type === "checkbox" ? input.checked : input.value.trim();
    });
    var payload = Object.assign(values, this.trackingFields(), {
      consent_version: String(this.petition.consent_version || ""),
      locale: this.lang,
      website: form.honeypot.value,
    });
    form.busy = true;
    try {
      if (this.petition.altcha_enabled || this.petition.altcha) {
        this.submitting(form, true, t.solving);
        payload.altcha = await this.altchaStart();
      }
      this.submitting(form, true, t.sending);
      var path = "/api/v1/petitions/" + encodeURIComponent(this.slug) + "/signatures/";
      var result = await this.request("POST", path, payload);
      this.altchaPromise = null; // a challenge is good for one submission
      var fields = (result.data && result.data.fields) || {};
      if (payload.altcha && result.status === 400 && Object.keys(fields).join() === "altcha") {
        // The challenge expired while the form was filled in: solve a fresh one, once.
        this.submitting(form, true, t.solving);
        payload.altcha = await this.altchaStart();
        this.submitting(form, true, t.sending);
        result = await this.request("POST", path, payload);
        this.altchaPromise = null;
      }
      if (result.ok) {
        this.signer = { first_name: values.first_name, last_name: values.last_name, email: values.email,
          postcode: values.postcode, city: values.city, country: values.country };
        this.showInbox();
        this.emit("signed", { petition: this.slug, status: result.data.status || "pending_confirmation", locale: this.lang });
        return;
      }
      if (result.status === 429) this.showErrors(form, {}, t.throttled);
      else if (result.status >= 500) this.showErrors(form, {}, t.server_error);
      else this.showErrors(form, result.data.fields || {}, result.data.message || t.send_failed);
    } catch (error) {
      this.altchaPromise = null;
      this.showErrors(form, {}, t.send_failed + " " + this.networkMessage());
    } finally {
      form.busy = false;
      if (form.node.isConnected) this.submitting(form, false, t.sign);
    }
  };

  Widget.prototype.showInbox = function () {
    var t = this.t;
    var title = h("h3", { className: "cw-heading", tabindex: "-1", text: t.inbox_title });
    var step = h("div", { className: "cw-step cw-inbox" }, [title, h("p", { text: t.inbox_text })]);
    this.body.textContent = "";
    this.body.appendChild(step);
    title.focus();
    this.announce(t.inbox_title);
    this.renderDonateOffer(false);
  };

  // --- the donate step ---------------------------------------------------------------------

  Widget.prototype.loadConfig = async function () {
    if (!this.configPromise) {
      var self = this;
      this.configPromise = Promise.all([
        this.request("GET", "/api/v1/widget/config/?campaign=" + encodeURIComponent(this.campaignSlug)),
        this.request("GET", "/api/v1/campaigns/" + encodeURIComponent(this.campaignSlug) + "/"),
      ]).then(function (results) {
        if (!results[0].ok || !results[1].ok) throw new Error("config");
        return { config: results[0].data, campaign: results[1].data };
      });
      this.configPromise.catch(function () { self.configPromise = null; });
    }
    return this.configPromise;
  };

  Widget.prototype.renderDonateOffer = function (open) {
    var self = this;
    if (!this.campaignSlug || this.el.dataset.donate === "false") return;
    var box = h("div", { className: "cw-step cw-donate" });
    this.donateBox = box;
    this.body.appendChild(box);
    if (open) {
      this.renderDonate();
      return;
    }
    var button = h("button", {
      type: "button", className: "cw-button cw-secondary", text: this.t.donate_heading,
      onclick: function () { self.renderDonate(true); },
    });
    box.appendChild(h("p", { text: this.t.donate_offer }));
    box.appendChild(button);
  };

  Widget.prototype.renderDonate = async function (focus) {
    var t = this.t;
    var self = this;
    var box = this.donateBox;
    var loaded;
    if (this.donateRendering) return;
    this.donateRendering = true;
    try {
      loaded = await this.loadConfig();
    } catch (error) {
      box.textContent = "";
      box.appendChild(h("p", { className: "cw-form-error", role: "alert", text: t.payment_unavailable }));
      this.donateRendering = false;
      return;
    }
    this.config = loaded.config;
    var amounts = (loaded.campaign.suggested_amounts || []).filter(function (a) { return a > 0; });
    if (!amounts.length) amounts = [1000, 2500, 5000];
    var org = this.config.organisation_name || "";
    var form = newForm("donate", "cw-form cw-donate-form");
    this.donateForm = form;
    var heading = h("h3", { className: "cw-heading", tabindex: "-1", id: this.id + "-donate-heading", text: t.donate_heading });
    form.node.setAttribute("aria-labelledby", heading.id);

    // Amounts: a radio group (arrow keys move between them) plus a free amount.
    var amountErrorId = this.id + "-donate-amount-error";
    var amountError = h("p", { className: "cw-error", id: amountErrorId, hidden: true });
    var amountGroup = h("fieldset", { className: "cw-field cw-amounts", "aria-describedby": amountErrorId }, [
      h("legend", { text: t.amount }),
    ]);
    var amountRadios = [];
    amounts.forEach(function (cents, index) {
      var id = self.id + "-amount-" + cents;
      var radio = h("input", { type: "radio", name: "amount_choice", id: id, value: String(cents), checked: index === Math.min(1, amounts.length - 1) });
      amountRadios.push(radio);
      amountGroup.appendChild(h("span", { className: "cw-choice" }, [radio, h("label", { for: id, text: self.moneyFormat.format(cents / 100) })]));
    });
    var otherId = this.id + "-amount-other";
    var other = h("input", { type: "text", inputmode: "decimal", id: otherId, className: "cw-other", "aria-describedby": amountErrorId });
    amountGroup.appendChild(h("span", { className: "cw-other-wrap" }, [h("label", { for: otherId, text: t.other_amount }), other]));
    amountGroup.appendChild(amountError);
    form.inputs.amount = other;
    form.errors.amount = amountError;
    form.labels.amount = t.amount;

    function radioGroup(name, legend, options) {
      var group = h("fieldset", { className: "cw-field cw-segmented" }, [h("legend", { text: legend })]);
      var radios = {};
      options.forEach(function (value, index) {
        var id = self.id + "-" + name + "-" + value;
        radios[value] = h("input", { type: "radio", name: name, id: id, value: value, checked: index === 0 });
        group.appendChild(h("span", { className: "cw-choice" }, [radios[value], h("label", { for: id, text: t[value] })]));
      });
      return { node: group, radios: radios, value: function () {
        return Object.keys(radios).filter(function (key) { return radios[key].checked; })[0];
      } };
    }
    var interval = radioGroup("interval", t.interval, ["once", "month"]);
    var method = radioGroup("payment_method", t.payment_method, ["card", "sepa_debit"]);
    form.inputs.interval = interval.radios.once;
    form.inputs.payment_method = method.radios.card;

    var coverFees = h("input", { type: "checkbox" });
    var signer = this.signer;
    // Apple Pay / Google Pay: hidden until Stripe's Express Checkout Element reports a wallet.
    var walletMount = h("div", { className: "cw-wallet-button" });
    var wallet = h("div", { className: "cw-wallet", role: "group", "aria-label": t.wallet, hidden: true }, [
      walletMount, h("p", { className: "cw-wallet-or", text: t.wallet_or }),
    ]);
    var cardMount = h("div", { className: "cw-card-element", id: this.id + "-card-element" });
    var cardField = this.field(form, "card", t.card_details, cardMount, {});
    cardMount.removeAttribute("name");
    var iban = h("input", { type: "text", autocomplete: "off", spellcheck: "false", placeholder: "DE00 0000 0000 0000 0000 00", maxlength: "42" });
    var mandateId = this.id + "-mandate";
    var mandate = h("p", { className: "cw-mandate", id: mandateId, text: fmt(t.mandate, { org: org }) });
    var ibanField = this.field(form, "iban", t.iban, iban, { required: true, describedBy: mandateId, after: mandate });
    ibanField.hidden = true;
    var wantsReceipt = h("input", { type: "checkbox" });
    var address = h("div", { className: "cw-address", hidden: true }, [
      this.field(form, "street", t.street, h("input", { type: "text", autocomplete: "street-address", maxlength: "200" }), { required: true }),
      h("div", { className: "cw-row" }, [
        this.field(form, "postcode", t.postcode, h("input", { type: "text", autocomplete: "postal-code", maxlength: "12", value: signer.postcode || "" }), { required: true, className: "cw-narrow" }),
        this.field(form, "city", t.city_required, h("input", { type: "text", autocomplete: "address-level2", maxlength: "100", value: signer.city || "" }), { required: true }),
      ]),
      this.field(form, "country", t.country, countrySelect(this.lang, signer.country || "DE"), { required: true }),
    ]);
    form.submit = h("button", { type: "submit", className: "cw-button" });

    [
      heading,
      amountGroup,
      interval.node,
      this.field(form, "cover_fees", t.cover_fees, coverFees),
      h("div", { className: "cw-row" }, [
        this.field(form, "first_name", t.first_name, h("input", { type: "text", autocomplete: "given-name", maxlength: "100", value: signer.first_name || "" }), { required: true }),
        this.field(form, "last_name", t.last_name, h("input", { type: "text", autocomplete: "family-name", maxlength: "100", value: signer.last_name || "" }), { required: true }),
      ]),
      this.field(form, "email", t.email, h("input", { type: "email", autocomplete: "email", maxlength: "254", value: signer.email || "" }), { required: true }),
      wallet,
      method.node,
      cardField,
      ibanField,
      this.field(form, "wants_receipt", t.wants_receipt, wantsReceipt),
      address,
      form.general,
      form.submit,
    ].forEach(function (child) { form.node.appendChild(child); });
    form.aliases = {
      fee_amount: "amount", total_amount: "amount", currency: "amount", cover_fees: "cover_fees",
      sepa_debit: "iban", payment_method_id: "card",
    };

    function currentAmount() {
      if (other.value.trim()) {
        var euros = Number(other.value.trim().replace(/\s/g, "").replace(",", "."));
        return isFinite(euros) ? Math.round(euros * 100) : NaN;
      }
      var chosen = amountRadios.filter(function (r) { return r.checked; })[0];
      return chosen ? Number(chosen.value) : NaN;
    }
    function updateButton() {
      var cents = currentAmount();
      var money = cents > 0 ? self.moneyFormat.format(cents / 100) : "";
      form.submit.textContent = fmt(interval.value() === "month" ? t.donate_month : t.donate, { amount: money }).trim();
      if (form.walletAmount) form.walletAmount();  // the wallet's sheet shows the same amount
    }
    function updateMethod() {
      var sepa = method.value() === "sepa_debit";
      ibanField.hidden = !sepa;
      cardField.hidden = sepa;
      if (!sepa) self.mountCard(cardMount, form);
    }
    other.addEventListener("input", function () {
      if (other.value.trim()) amountRadios.forEach(function (r) { r.checked = false; });
      updateButton();
    });
    amountRadios.forEach(function (radio) {
      radio.addEventListener("change", function () { other.value = ""; updateButton(); });
    });
    Object.keys(interval.radios).forEach(function (key) { interval.radios[key].addEventListener("change", updateButton); });
    Object.keys(method.radios).forEach(function (key) { method.radios[key].addEventListener("change", updateMethod); });
    wantsReceipt.addEventListener("change", function () { address.hidden = !wantsReceipt.checked; });
    coverFees.addEventListener("change", updateButton);
    iban.addEventListener("blur", function () {
      if (iban.value.trim() && !validIban(iban.value)) self.showFieldError(form, "iban", t.invalid_iban);
    });
    function choose() {
      return {
        amount: currentAmount(),
        interval: interval.value(),
        method: method.value(),
        coverFees: coverFees.checked,
        wantsReceipt: wantsReceipt.checked,
      };
    }
    form.node.addEventListener("submit", function (event) {
      event.preventDefault();
      self.donate(choose());
    });
    form.updateButton = updateButton;
    box.textContent = "";
    box.appendChild(form.node);
    updateButton();
    updateMethod();
    this.mountWallet(wallet, walletMount, form, choose);
    if (focus) heading.focus();
  };

  Widget.prototype.showFieldError = function (form, name, message) {
    var fields = {};
    fields[name] = [message];
    this.showErrors(form, fields);
  };

  Widget.prototype.stripe = function () {
    var self = this;
    if (!this.stripeInstance) {
      var url = this.el.dataset.stripeJs || this.config.stripe_js_url || "https://js.stripe.com/v3/";
      // Stripe.js must be on the page once; the host page may have loaded it already.
      this.stripeInstance = (window.Stripe ? Promise.resolve() : loadScript(url)).then(function () {
        return window.Stripe(self.el.dataset.stripeKey || self.config.stripe_publishable_key);
      });
      this.stripeInstance.catch(function () { self.stripeInstance = null; });
    }
    return this.stripeInstance;
  };

  Widget.prototype.mountCard = async function (mount, form) {
    if (this.card) return;
    try {
      var stripe = await this.stripe();
      if (this.card) return;
      var style = getComputedStyle(this.el);
      this.card = stripe.elements({ locale: this.lang }).create("card", {
        hidePostalCode: true,
        style: { base: { fontSize: "16px", color: style.color, fontFamily: style.fontFamily } },
      });
      this.card.mount(mount);
      // Stand-ins and Stripe both render their own inputs; name them for assistive technology.
      var t = this.t;
      Array.prototype.forEach.call(mount.querySelectorAll("input"), function (input) {
        input.setAttribute("aria-label", t.card_details + ": " + (input.getAttribute("placeholder") || ""));
      });
    } catch (error) {
      this.showErrors(form, {}, this.t.payment_unavailable);
    }
  };

  // What the server will charge: the gift, plus the covered card fee grossed up exactly as
  // donations/amounts.py does (total = ceil((amount + fixed) / (1 - percent / 100))), in
  // integers so no rounding differs.
  Widget.prototype.walletTotal = function (choice) {
    if (!(choice.amount >= 100)) return null;
    if (!choice.coverFees) return choice.amount;
    var milli = Math.round(parseFloat(this.config.card_fee_percent || "0") * 1000);
    var fixed = Number(this.config.card_fee_fixed || 0);
    var numerator = (choice.amount + fixed) * 100000;
    var denominator = 100000 - milli;
    return Math.floor((numerator + denominator - 1) / denominator);
  };

  // Apple Pay and Google Pay through Stripe's Express Checkout Element, in payment mode with the
  // amount, so the wallet's sheet shows what is given (for a monthly gift, Apple Pay also shows
  // it as recurring). The wallet's card becomes a PaymentMethod (`createPaymentMethod`) that
  // confirms the donation's SetupIntent like any card, and `complete` charges it. Shown only
  // when the element's `ready` event lists a wallet.
  Widget.prototype.mountWallet = async function (box, mount, form, choose) {
    var self = this;
    try {
      var stripe = await this.stripe();
      if (!mount.isConnected) return;
      var elements = stripe.elements({
        mode: "payment", amount: this.walletTotal(choose()) || 100, currency: "eur", locale: this.lang,
        paymentMethodTypes: ["card"], paymentMethodCreation: "manual",
        // Every gift's card is saved for off-session use (the monthly debits; the SetupIntent's usage).
        setupFutureUsage: "off_session",
      });
      var element = elements.create("expressCheckout", {
        buttonType: { applePay: "donate", googlePay: "donate" },
        paymentMethods: { applePay: "auto", googlePay: "auto", link: "never", paypal: "never", amazonPay: "never", klarna: "never" },
      });
      this.wallet = element;
      form.walletAmount = function () {
        var total = self.walletTotal(choose());
        // A Stripe.js stand-in without wallets may lack update(); the form must work on.
        if (total && typeof elements.update === "function") elements.update({ amount: total });
      };
      element.on("ready", function (event) {
        var methods = event.availablePaymentMethods || {};
        box.hidden = !(methods.applePay || methods.googlePay);
      });
      element.on("click", function (event) {
        // Without resolve() the wallet's sheet stays closed; the form names what is missing.
        var choice = Object.assign(choose(), { method: "card" });
        if (form.busy || !self.donateCheck(form, choice)) return;
        var total = self.walletTotal(choice);
        elements.update({ amount: total });
        var options = {};
        if (choice.interval === "month") {
          var label = self.t.wallet_monthly_label;
          options.applePay = {
            recurringPaymentRequest: {
              paymentDescription: label,
              managementURL: self.api + "/donations/manage/",
              regularBilling: { amount: total, label: label, recurringPaymentIntervalUnit: "month", recurringPaymentIntervalCount: 1 },
            },
          };
        }
        event.resolve(options);
      });
      element.on("confirm", function (event) {
        self.donate(Object.assign(choose(), { method: "card", wallet: event.expressPaymentType }), { elements: elements, event: event });
      });
      element.mount(mount);
    } catch (error) {
      box.hidden = true;
    }
  };

  Widget.prototype.donateCheck = function (form, choice) {
    this.clearErrors(form);
    var required = ["first_name", "last_name", "email"];
    if (choice.wantsReceipt) required = required.concat(["street", "postcode", "city", "country"]);
    var fields = this.checkRequired(form, required);
    if (!(choice.amount >= 100)) fields.amount = [this.t.invalid_amount];
    if (choice.method === "sepa_debit" && !validIban(form.inputs.iban.value)) fields.iban = [this.t.invalid_iban];
    if (Object.keys(fields).length) this.showErrors(form, fields);
    return !Object.keys(fields).length;
  };

  Widget.prototype.donate = async function (choice, wallet) {
    var t = this.t;
    var form = this.donateForm;
    var failed = function () { if (wallet) wallet.event.paymentFailed({ reason: "fail" }); };
    if (form.busy || !this.donateCheck(form, choice)) return failed();
    var v = function (name) { return form.inputs[name].value.trim(); };
    var payload = Object.assign({
      campaign: this.campaignSlug,
      amount: choice.amount,
      cover_fees: choice.coverFees,
      currency: "eur",
      interval: choice.interval,
      payment_method: choice.method,
      first_name: v("first_name"),
      last_name: v("last_name"),
      email: v("email"),
      wants_receipt: choice.wantsReceipt,
      newsletter_consent: false,
      locale: this.lang,
    }, this.trackingFields(), this.attributionFields());
    if (choice.wantsReceipt) {
      Object.assign(payload, { street: v("street"), postcode: v("postcode"), city: v("city"), country: v("country") });
    }
    form.busy = true;
    this.submitting(form, true, t.processing);
    this.announce(t.processing);
    try {
      var stripe = await this.stripe();
      // The wallet's details are checked before anything is recorded.
      var submitted = wallet ? await wallet.elements.submit() : {};
      if (submitted.error) {
        failed();
        this.showErrors(form, {}, fmt(t.payment_failed, { message: submitted.error.message || "" }));
        return;
      }
      var created = await this.request("POST", "/api/v1/donations/", payload);
      if (!created.ok) {
        failed();
        this.showErrors(form, created.data.fields || {}, created.status === 429 ? t.throttled : created.data.message);
        return;
      }
      var donation = created.data;
      var billing = { name: payload.first_name + " " + payload.last_name, email: payload.email };
      var saved = wallet
        ? await this.walletSave(stripe, wallet.elements, donation.client_secret, billing)
        : choice.method === "sepa_debit"
        ? await stripe.confirmSepaDebitSetup(donation.client_secret, {
          payment_method: { sepa_debit: { iban: form.inputs.iban.value.replace(/\s+/g, "").toUpperCase() }, billing_details: billing },
        })
        : await stripe.confirmCardSetup(donation.client_secret, {
          payment_method: { card: this.card, billing_details: billing },
        });
      if (saved.error) {
        failed();
        this.showErrors(form, {}, fmt(t.payment_failed, { message: saved.error.message || "" }));
        return;
      }
      var path = "/api/v1/donations/" + encodeURIComponent(donation.id) + "/complete/";
      var completed = await this.request("POST", path, {});
      if (!completed.ok) {
        this.showErrors(form, completed.data.fields || {}, fmt(t.payment_failed, { message: completed.data.message || "" }));
        return;
      }
      var status = completed.data.status;
      if (completed.data.client_secret) {
        // The bank wants 3-D Secure for the charge itself.
        var authenticated = await stripe.confirmCardPayment(completed.data.client_secret);
        if (authenticated.error) {
          this.showErrors(form, {}, fmt(t.payment_failed, { message: authenticated.error.message || "" }));
          return;
        }
        status = (authenticated.paymentIntent && authenticated.paymentIntent.status) || status;
      }
      if (status === "failed" || status === "canceled" || status === "requires_payment_method") {
        this.showErrors(form, {}, fmt(t.payment_failed, { message: status }));
        return;
      }
      this.showThanks(choice, donation, status);
    } catch (error) {
      failed();
      this.showErrors(form, {}, t.send_failed + " " + this.networkMessage());
    } finally {
      form.busy = false;
      if (form.node.isConnected) {
        this.submitting(form, false, "");
        form.updateButton();
      }
    }
  };

  // The wallet's card as a PaymentMethod, then saved on the donation's SetupIntent.
  Widget.prototype.walletSave = async function (stripe, elements, clientSecret, billing) {
    var created = await stripe.createPaymentMethod({ elements: elements, params: { billing_details: billing } });
    if (created.error) return created;
    return stripe.confirmCardSetup(clientSecret, { payment_method: created.paymentMethod.id });
  };

  Widget.prototype.showThanks = function (choice, donation, status) {
    var t = this.t;
    var title = h("h3", { className: "cw-heading", tabindex: "-1", text: t.thanks_title });
    var amount = this.moneyFormat.format((donation.total_amount || choice.amount) / 100);
    var step = h("div", { className: "cw-step cw-thanks" }, [
      title,
      h("p", { className: "cw-thanks-amount", text: choice.interval === "month" ? fmt(t.per_month, { amount: amount }) : amount }),
      h("p", { text: choice.method === "sepa_debit" ? t.thanks_sepa : t.thanks_text }),
    ]);
    this.donateBox.textContent = "";
    this.donateBox.appendChild(step);
    [this.card, this.wallet].forEach(function (element) { if (element && element.destroy) element.destroy(); });
    this.card = this.wallet = null;
    title.focus();
    this.announce(t.thanks_title);
    this.emit("donated", {
      campaign: this.campaignSlug, donation: donation.id, amount: donation.amount || choice.amount,
      total_amount: donation.total_amount || choice.amount, currency: "eur",
      interval: choice.interval, payment_method: choice.method, wallet: choice.wallet || null, status: status,
    });
  };

  function init(container) {
    if (!container || container.campaignWidget) return container && container.campaignWidget;
    container.campaignWidget = new Widget(container);
    return container.campaignWidget;
  }

  function initAll() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-campaign-widget]"), init);
  }

  window.CampaignWidget = { version: VERSION, init: init, validIban: validIban };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initAll);
  else initAll();
})();
