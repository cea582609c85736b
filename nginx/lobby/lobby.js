// The lobby page (SPEC 13): a product's open games, live. The order matters:
// subscribe first, then read open_games, then apply the messages that came in
// meanwhile and every one after, in the order they arrive. Each message
// carries the whole listed game (or its removal), so applying the messages
// over a list read after them leaves every game as its last message says.
// Every time the subscription (re)opens, the list is read again: a gap longer
// than what nginx keeps for a resume (Last-Event-ID) loses nothing either.
'use strict';

(function () {
  const PAGE_SIZE = 25; // open_games' largest page
  const MAX_PAGES = 8; // the 200 oldest open games, then only what changes
  const RETRY_MS = 2000;

  const el = (id) => document.getElementById(id);
  const ui = {
    status: el('status'), form: el('watch-form'), product: el('product'),
    token: el('token'), who: el('who'), create: el('create'), quick: el('quick'),
    result: el('result'), games: el('games'), empty: el('empty'), count: el('count'),
    mine: el('mine'), mineSection: el('mine-section'), footProduct: el('foot-product'),
  };

  const state = {
    product: '',
    source: null,
    generation: 0, // one per (re)opened subscription: late answers of an old one are dropped
    pending: null, // messages that arrived while open_games was read; null once live
    games: new Map(), // game_id -> partial game, in lobby order (oldest first)
    nodes: new Map(), // game_id -> its <li>
    mine: new Map(), // game_id -> {product, role} for games joined or created here
    retry: 0,
  };

  // ---- status and messages to the user ----

  function setStatus(kind, text) {
    ui.status.dataset.state = kind;
    ui.status.textContent = text;
  }

  function say(kind, text) {
    ui.result.dataset.kind = kind;
    ui.result.textContent = text;
  }

  // ---- the token: pasted, kept in this tab's session storage only ----

  function token() {
    const t = ui.token.value.trim();
    if (t === '') return '';
    return /\s/.test(t) ? t : 'Bearer ' + t;
  }

  // The user the token names, read (not verified: the matchmaker does that).
  function tokenUser() {
    const jwt = ui.token.value.trim().split(/\s+/).pop() || '';
    const part = jwt.split('.')[1];
    if (!part) return null;
    try {
      const b64 = part.replace(/-/g, '+').replace(/_/g, '/');
      const claims = JSON.parse(atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4)));
      if (claims.user_id === undefined) return null;
      return { id: String(claims.user_id), name: String(claims.username || '') };
    } catch (e) {
      return null;
    }
  }

  function showWho() {
    const u = tokenUser();
    ui.who.textContent = u ? 'Signed in as ' + (u.name || u.id) + ' (' + u.id + ')'
      : (ui.token.value.trim() ? 'This does not look like a token.' : 'Paste a token to play.');
    render();
  }

  // ---- the lobby API ----

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    const t = token();
    if (t) headers.Authorization = t;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    let data = null;
    try {
      data = await res.json();
    } catch (e) {
      data = null;
    }
    return { ok: res.ok, status: res.status, data };
  }

  function errorText(r) {
    const why = r.data && typeof r.data.error === 'string' ? r.data.error : 'HTTP ' + r.status;
    return why + ' (' + r.status + ')';
  }

  function lobbyPath(rest) {
    return '/game_lobby/' + encodeURIComponent(state.product) + '/' + rest;
  }

  // ---- the list ----

  function apply(msg) {
    if (!msg || msg.product_id !== state.product || typeof msg.game_id !== 'string') return;
    const id = msg.game_id;
    if (msg.type === 'listed') {
      // a game that comes back to the lobby goes to its end, as open_games lists it
      state.games.delete(id);
      if (msg.game && typeof msg.game === 'object') state.games.set(id, msg.game);
    } else if (msg.type === 'updated') {
      if (msg.game && typeof msg.game === 'object') state.games.set(id, msg.game);
    } else if (msg.type === 'unlisted') {
      state.games.delete(id);
    }
  }

  function gameNode(id, g) {
    const li = document.createElement('li');
    li.className = 'game';
    li.dataset.gameId = id;
    const info = document.createElement('div');
    info.className = 'info';
    const creator = document.createElement('div');
    creator.className = 'creator';
    const meta = document.createElement('div');
    meta.className = 'meta';
    const chips = document.createElement('div');
    info.append(creator, meta, chips);
    const join = document.createElement('button');
    join.type = 'button';
    join.textContent = 'Join';
    join.addEventListener('click', () => joinGame(id));
    li.append(info, join);
    return li;
  }

  function fillNode(li, id, g) {
    const players = Array.isArray(g.players) ? g.players : [];
    const settings = g.settings && typeof g.settings === 'object' ? g.settings : {};
    const seats = Number(settings.num_players) || 2;
    const [info, join] = li.children;
    const [creator, meta, chips] = info.children;
    creator.textContent = String(g.creator_name || g.creator_id || 'someone');
    meta.textContent = players.length + ' of ' + seats + ' players · game ' + id.slice(0, 8);
    chips.replaceChildren();
    const lobby = settings.lobby && typeof settings.lobby === 'object' ? settings.lobby : {};
    for (const [k, v] of Object.entries(lobby)) {
      const chip = document.createElement('span');
      chip.className = 'chip';
      chip.textContent = k + ': ' + v;
      chips.append(chip);
    }
    const me = tokenUser();
    const seated = me !== null && players.includes(me.id);
    join.disabled = seated;
    join.textContent = seated ? 'Joined' : 'Join';
  }

  function render() {
    const seen = new Set();
    let before = ui.games.firstChild;
    for (const [id, g] of state.games) {
      seen.add(id);
      let li = state.nodes.get(id);
      if (!li) {
        li = gameNode(id, g);
        state.nodes.set(id, li);
        if (ui.status.dataset.state === 'live') li.classList.add('fresh');
      }
      fillNode(li, id, g);
      if (li !== before) ui.games.insertBefore(li, before);
      else before = before.nextSibling;
    }
    for (const [id, li] of state.nodes) {
      if (!seen.has(id)) {
        li.remove();
        state.nodes.delete(id);
      }
    }
    ui.count.textContent = String(state.games.size);
    ui.empty.hidden = state.games.size > 0;
    renderMine();
  }

  function renderMine() {
    ui.mine.replaceChildren();
    for (const [id, m] of state.mine) {
      if (m.product !== state.product) continue;
      const li = document.createElement('li');
      li.className = 'game';
      li.dataset.gameId = id;
      const info = document.createElement('div');
      info.className = 'info';
      const title = document.createElement('div');
      title.className = 'creator';
      title.textContent = (m.role === 'created' ? 'Created ' : 'Joined ') + 'game ' + id.slice(0, 8);
      const meta = document.createElement('div');
      meta.className = 'meta';
      meta.textContent = state.games.has(id) ? 'listed in the lobby'
        : 'not listed (waiting for its creator to connect, full, or started)';
      info.append(title, meta);
      const leave = document.createElement('button');
      leave.type = 'button';
      leave.className = 'secondary';
      leave.textContent = 'Leave';
      leave.addEventListener('click', () => leaveGame(id));
      li.append(info, leave);
      ui.mine.append(li);
    }
    ui.mineSection.hidden = ui.mine.children.length === 0;
  }

  // ---- the subscription, then the list ----

  async function readOpenGames(generation) {
    const list = [];
    for (let page = 0; page < MAX_PAGES; page++) {
      const r = await api('GET', lobbyPath('open_games?count=' + PAGE_SIZE + '&page=' + page));
      if (generation !== state.generation) return null;
      if (!r.ok || !Array.isArray(r.data)) throw new Error(errorText(r));
      list.push(...r.data);
      if (r.data.length < PAGE_SIZE) break;
    }
    return list;
  }

  async function load(generation) {
    setStatus('loading', 'loading…');
    try {
      const list = await readOpenGames(generation);
      if (list === null) return;
      state.games = new Map();
      for (const g of list) {
        if (g && typeof g.game_id === 'string') state.games.set(g.game_id, g);
      }
      const waiting = state.pending || [];
      state.pending = null;
      for (const msg of waiting) apply(msg);
      render();
      state.retry = 0;
      setStatus('live', 'live');
    } catch (e) {
      if (generation !== state.generation) return;
      setStatus('error', 'cannot read the lobby');
      say('error', String(e.message || e));
      setTimeout(() => {
        if (generation === state.generation) load(generation);
      }, RETRY_MS);
    }
  }

  // The stream was refused or ended for good: say why (an unknown product is
  // the API's 400) and, for anything else, subscribe again after a while.
  async function refused(generation) {
    setStatus('error', 'not subscribed');
    try {
      const r = await api('GET', lobbyPath('open_games?count=1'));
      if (generation !== state.generation) return;
      if (r.status === 400) {
        say('error', errorText(r));
        return;
      }
    } catch (e) {
      // the network is down: try again below
    }
    if (generation !== state.generation) return;
    setTimeout(() => {
      if (generation === state.generation) subscribe();
    }, Math.min(RETRY_MS * 2 ** state.retry++, 30000));
  }

  function subscribe() {
    if (state.source) state.source.close();
    state.generation++; // what an earlier subscription still has under way is dropped
    state.pending = [];
    setStatus('loading', 'connecting…');
    const source = new EventSource(lobbyPath('lobby_events'));
    state.source = source;
    // Opened, and opened again after each reconnection: read the list (again).
    source.onopen = () => {
      if (source !== state.source) return;
      const generation = ++state.generation;
      state.pending = [];
      load(generation);
    };
    source.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (e) {
        return;
      }
      if (state.pending) {
        state.pending.push(msg);
      } else {
        apply(msg);
        render();
      }
    };
    source.onerror = () => {
      if (source !== state.source) return;
      if (source.readyState === EventSource.CLOSED) {
        refused(state.generation);
      } else {
        setStatus('loading', 'reconnecting…');
      }
    };
  }

  function watch(product) {
    product = product.trim();
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(product)) {
      say('error', 'A product id is 1 to 128 of A-Z a-z 0-9 _ -.');
      return;
    }
    state.product = product;
    state.games = new Map();
    state.retry = 0;
    ui.footProduct.textContent = product;
    localStorage.setItem('lobby.product', product);
    const url = new URL(location.href);
    url.searchParams.set('product', product);
    history.replaceState(null, '', url);
    say('', '');
    render();
    subscribe();
  }

  // ---- playing ----

  function remember(id, role) {
    state.mine.set(id, { product: state.product, role });
    renderMine();
  }

  function needToken() {
    if (token()) return false;
    say('error', 'Paste a token first.');
    ui.token.focus();
    return true;
  }

  async function run(button, what) {
    button.disabled = true;
    try {
      await what();
    } catch (e) {
      say('error', 'The matchmaker did not answer: ' + String(e.message || e));
    } finally {
      button.disabled = false;
      render();
    }
  }

  function createGame() {
    if (needToken() || !state.product) return;
    run(ui.create, async () => {
      const r = await api('POST', lobbyPath('create_game'), {});
      if (!r.ok) return say('error', 'Create: ' + errorText(r));
      remember(r.data.game_id, 'created');
      say('ok', 'Created game ' + r.data.game_id.slice(0, 8) + '. It is listed once you connect to ' +
        r.data.target_game_server + '.');
    });
  }

  function quickMatch() {
    if (needToken() || !state.product) return;
    run(ui.quick, async () => {
      const r = await api('POST', lobbyPath('quick_match'), {});
      if (!r.ok) return say('error', 'Quick match: ' + errorText(r));
      const joined = r.data.quick_match === 'joined';
      remember(r.data.game_id, joined ? 'joined' : 'created');
      say('ok', (joined ? 'Joined game ' : 'No open seat: created game ') +
        r.data.game_id.slice(0, 8) + '. Play at ' + r.data.target_game_server + '.');
    });
  }

  function joinGame(id) {
    if (needToken()) return;
    const li = state.nodes.get(id);
    const button = li ? li.querySelector('button') : ui.quick;
    run(button, async () => {
      const r = await api('POST', lobbyPath('join_game/' + encodeURIComponent(id)));
      if (!r.ok) return say('error', 'Join: ' + errorText(r));
      remember(id, 'joined');
      say('ok', 'Joined game ' + id.slice(0, 8) + '. Play at ' + r.data.target_game_server + '.');
    });
  }

  function leaveGame(id) {
    if (needToken()) return;
    const button = ui.mine.querySelector('[data-game-id="' + CSS.escape(id) + '"] button');
    run(button || ui.quick, async () => {
      const r = await api('POST', lobbyPath('leave_game/' + encodeURIComponent(id)));
      if (!r.ok && r.status !== 404) return say('error', 'Leave: ' + errorText(r));
      state.mine.delete(id);
      say('ok', r.ok && r.data.game_removed ? 'Left; the game is gone.' : 'Left game ' +
        id.slice(0, 8) + '.');
    });
  }

  // ---- start ----

  ui.form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    watch(ui.product.value);
  });
  ui.token.addEventListener('input', () => {
    sessionStorage.setItem('lobby.token', ui.token.value);
    showWho();
  });
  ui.create.addEventListener('click', createGame);
  ui.quick.addEventListener('click', quickMatch);

  ui.token.value = sessionStorage.getItem('lobby.token') || '';
  showWho();
  const initial = new URL(location.href).searchParams.get('product') ||
    localStorage.getItem('lobby.product') || '';
  ui.product.value = initial;
  if (initial) watch(initial);
})();
