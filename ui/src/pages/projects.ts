import { api, ApiError, errorText, SignedOut } from '../api.ts';
import { h } from '../dom.ts';
import type { PageContext } from '../page.ts';
import { ago } from '../admin/format.ts';
import { confirmAction, errorLine, field, keepFocus, onSubmit, statusLine } from '../admin/ui.ts';
import { tableRegion } from '../table-region.ts';
import {
  addedByWords, canManageMembers, createBody, DEFAULT_MEMBER_ROLE, isProjectRole, memberCountWords, memberOutcome, membersPath,
  projectQuery, projectRoleWords, PROJECT_ROLES, PROJECTS_PATH, removeConfirmation, roleChangeConfirmation, roleWord, rolesHint,
  selectedName, selectionProblem, sortProjects, type MemberRow, type ProjectRole, type ProjectRow,
} from '../projects/projects.ts';

/*
 * Every signed-in user: the projects they may launch into or see (GET /api/v1/projects: the
 * built-in ones, and those they are a member of; an admin sees all, as owner). Picking one they
 * own opens its Members panel below, and puts `?name=` in the address (a reload keeps it):
 * add a member or change their role (POST …/members), remove one (DELETE …/members/:user).
 * Removing a member, or taking them down to viewer, closes their open connections to the
 * project's apps: both ask first. Admins also create projects. Nothing polls.
 */

const none = (text: string, label?: string) => h('span', { class: 'none', 'aria-label': label }, text);

function roleSelect(attrs: Record<string, string>, role: ProjectRole): HTMLSelectElement {
  return h('select', attrs, ...PROJECT_ROLES.map((r) => h('option', { value: r.value, selected: r.value === role }, r.label)));
}

export function projectsPage(ctx: PageContext): () => void {
  ctx.title('Projects');
  const { view, me } = ctx;
  let left = false;

  // ---- the projects ----------------------------------------------------------------------------
  const body = h('tbody');
  const table = h('table', { id: 'projects', class: 'compact', 'aria-busy': 'true' },
    h('caption', { id: 'projects-caption' }, me.admin
      ? 'Every project of this Wharf'
      : 'The projects anyone may launch into, and those you are a member of'),
    h('thead', {}, h('tr', {}, ...['Name', 'Your role', 'Members', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    body);
  const listHeading = h('h2', { id: 'projects-heading', tabindex: -1 }, me.admin ? 'All projects' : 'Your projects');
  const listError = errorLine('projects-error');
  const listStatus = statusLine('projects-status');

  /** The projects shown, and the one whose members are shown (or asked for by the address). */
  let projects: ProjectRow[] = [];
  let selected: string | null = selectedName(ctx.query);

  // ---- the selected project's members -------------------------------------------------------------
  const membersBody = h('tbody');
  const membersCaption = h('caption', { id: 'members-caption' }, 'Members');
  const membersTable = h('table', { id: 'members-list', class: 'compact' },
    membersCaption,
    h('thead', {}, h('tr', {}, ...['User', 'Role', 'Added by', 'Added', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
    membersBody);
  const membersHeading = h('h2', { id: 'members-heading', tabindex: -1 }, 'Members');
  const membersError = errorLine('members-error');
  const membersStatus = statusLine('members-status');
  const closeMembers = h('button', { type: 'button', id: 'members-close' }, 'Close');

  const memberUser = h('input', { id: 'member-user', name: 'user', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', required: true, maxlength: 64 });
  const memberRole = roleSelect({ id: 'member-role', name: 'role' }, DEFAULT_MEMBER_ROLE);
  const memberError = errorLine('member-error');
  const memberStatus = statusLine('member-status');
  const memberForm = h('form', { id: 'member-form', class: 'form form-inline', 'aria-label': 'Add a member', novalidate: true },
    field('User name', memberUser, 'Their Wharf user name. Adding someone who is already a member changes their role.'),
    field('Role', memberRole, rolesHint()),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Add member')),
    memberError, memberStatus);

  const membersPanel = h('section', { id: 'members', class: 'panel', 'aria-labelledby': 'members-heading', hidden: true },
    h('div', { class: 'panel-head' }, membersHeading, closeMembers),
    h('p', { class: 'hint' }, 'Members see the project\'s instances; users also launch into it and open its apps; owners also manage its members.'),
    membersError, membersStatus, tableRegion(membersTable, 'members-caption'), memberForm);

  /** The members shown: what a member request is told against ("now a viewer (was user)"). */
  let shown: MemberRow[] = [];
  /** Which answer is current: a list asked for an earlier selection is dropped. */
  let membersRound = 0;

  /** After an action that removed the focused control, the panel's heading gets focus. */
  const refocus = (heading: HTMLElement) => {
    if (!document.activeElement || document.activeElement === document.body) heading.focus();
  };

  const sayMembers = (status: string) => {
    membersStatus.textContent = status;
    memberStatus.textContent = '';
  };

  // ---- drawing ---------------------------------------------------------------------------------
  const renderProjects = () => {
    const now = Date.now();
    keepFocus(body, () => body.replaceChildren(...(projects.length ? projects.map((p) => {
      const count = memberCountWords(p);
      const isSelected = p.name === selected && !membersPanel.hidden;
      const actions: HTMLElement[] = [];
      if (canManageMembers(p)) {
        const manage = h('button', { type: 'button', 'aria-label': `Manage members: ${p.name}`, 'aria-controls': 'members', 'aria-expanded': isSelected ? 'true' : 'false', 'data-focus': `manage-${p.name}` }, 'Members');
        manage.addEventListener('click', () => openMembers(p.name, true));
        // Its owners read the project's audit log (its instances and members).
        actions.push(manage, h('a', { class: 'button', href: `/audit?project=${encodeURIComponent(p.name)}`, 'aria-label': `Audit log: ${p.name}` }, 'Audit'));
      }
      return h('tr', { 'data-project': p.name, 'data-role': p.builtIn ? 'anyone' : p.role ?? 'none', 'aria-current': isSelected ? 'true' : undefined, class: isSelected ? 'selected' : undefined },
        h('th', { scope: 'row' }, p.name, p.builtIn ? h('span', { class: 'built-in' }, ' (built-in)') : null),
        h('td', {}, p.builtIn || p.role === null ? none(projectRoleWords(p)) : h('span', { class: `role role-${p.role}` }, projectRoleWords(p))),
        h('td', { class: 'num' }, count === null ? none('—', 'no members') : h('span', { title: count }, String(p.members))),
        h('td', { class: 'num' }, p.created === null ? none('—', 'not recorded') : h('time', { datetime: p.created, title: p.created }, ago(p.created, now))),
        h('td', {}, actions.length ? h('div', { class: 'row-actions' }, ...actions) : none('—', 'none')));
    }) : [h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No projects yet.'))])));
  };

  const renderMembers = (project: string, rows: MemberRow[]) => {
    shown = rows;
    const now = Date.now();
    keepFocus(membersBody, () => membersBody.replaceChildren(...(rows.length ? rows.map((m) => {
      const self = m.user === me.name;
      const select = roleSelect({ 'aria-label': `Role of ${m.user}`, 'data-focus': `role-${m.user}` }, m.role);
      select.addEventListener('change', () => void changeRole(project, m, select));
      const remove = h('button', { type: 'button', 'aria-label': `Remove member: ${m.user}`, 'data-focus': `remove-${m.user}` }, 'Remove');
      remove.addEventListener('click', () => void removeMember(project, m));
      return h('tr', { 'data-user': m.user, 'data-role': m.role },
        h('th', { scope: 'row' }, m.user, self ? h('span', { class: 'you' }, ' (you)') : null),
        // A role this page does not know is shown as it came, and kept unless another is picked.
        h('td', {}, isProjectRole(m.role) ? select : h('span', {}, roleWord(m.role))),
        h('td', {}, m.by === null ? none(addedByWords(m.by)) : m.by),
        h('td', { class: 'num' }, h('time', { datetime: m.added, title: m.added }, ago(m.added, now))),
        h('td', {}, h('div', { class: 'row-actions' }, remove)));
    }) : [h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No members: only admins see it and manage its members.'))])));
  };

  // ---- loading ---------------------------------------------------------------------------------
  const loadProjects = async (): Promise<boolean> => {
    table.setAttribute('aria-busy', 'true');
    try {
      const answer = await api<{ projects: ProjectRow[] }>(PROJECTS_PATH);
      if (left) return false;
      projects = sortProjects(answer.projects);
      listError.textContent = '';
      renderProjects();
      return true;
    } catch (err) {
      if (left || err instanceof SignedOut) return false;
      listError.textContent = `Cannot load the projects: ${errorText(err)}`;
      return false;
    } finally {
      table.setAttribute('aria-busy', 'false');
    }
  };

  const loadMembers = async (project: string) => {
    const round = ++membersRound;
    membersTable.setAttribute('aria-busy', 'true');
    try {
      const { members } = await api<{ members: MemberRow[] }>(membersPath(project));
      if (left || round !== membersRound) return;
      membersError.textContent = '';
      renderMembers(project, members);
    } catch (err) {
      if (left || round !== membersRound || err instanceof SignedOut) return;
      membersError.textContent = `Cannot load the members of ${project}: ${errorText(err)}`;
    } finally {
      if (round === membersRound) membersTable.setAttribute('aria-busy', 'false');
    }
  };

  /** Shows the members of `name` (or hides the panel for null), keeping the choice in the address. */
  const openMembers = (name: string | null, focus: boolean) => {
    selected = name;
    ctx.setQuery(projectQuery(name));
    membersError.textContent = '';
    membersStatus.textContent = '';
    memberError.textContent = '';
    memberStatus.textContent = '';
    if (name === null) {
      membersRound++;
      membersPanel.hidden = true;
      shown = [];
      renderProjects();
      return;
    }
    membersHeading.textContent = `Members of ${name}`;
    membersCaption.textContent = `The members of ${name} and their roles`;
    membersPanel.hidden = false;
    membersBody.replaceChildren();
    shown = [];
    memberForm.reset();
    renderProjects();
    if (focus) membersHeading.focus();
    void loadMembers(name);
  };

  /**
   * After a change to the members (counts change; one's own role may have gone): the projects
   * again, then the panel, closed with a word if the project is no longer the user's to manage.
   */
  const refreshAfterChange = async (project: string) => {
    if (!(await loadProjects()) || left || selected !== project) return;
    const problem = selectionProblem(projects, project);
    if (problem) {
      openMembers(null, false);
      listStatus.textContent = `You no longer manage the members of ${project}.`;
      refocus(listHeading);
      return;
    }
    await loadMembers(project);
  };

  // ---- member actions ------------------------------------------------------------------------
  const changeRole = async (project: string, m: MemberRow, select: HTMLSelectElement) => {
    const next = select.value;
    if (!isProjectRole(next) || next === m.role) return;
    const ask = roleChangeConfirmation(shown, m.user, next, project, me);
    if (ask && !(await confirmAction(view, ask))) {
      select.value = m.role;
      return;
    }
    if (left) return;
    membersError.textContent = '';
    // Not disabled meanwhile: a disabled select drops keyboard focus, which the new list gives back to its row.
    try {
      const member = await api<MemberRow>(membersPath(project), { method: 'POST', body: { user: m.user, role: next } });
      if (left) return;
      sayMembers(memberOutcome(shown, member, project));
      await refreshAfterChange(project);
    } catch (err) {
      if (err instanceof SignedOut || left) return;
      select.value = m.role;
      membersError.textContent = `Cannot change the role of ${m.user}: ${errorText(err)}`;
    }
  };

  const removeMember = async (project: string, m: MemberRow) => {
    const yes = await confirmAction(view, removeConfirmation(m.user, project, me));
    if (!yes || left) return;
    membersError.textContent = '';
    try {
      await api(membersPath(project, m.user), { method: 'DELETE' });
      if (left) return;
      sayMembers(m.user === me.name ? `You are no longer a member of ${project}.` : `${m.user} is no longer a member of ${project}.`);
      await refreshAfterChange(project);
      refocus(membersPanel.hidden ? listHeading : membersHeading);
    } catch (err) {
      if (err instanceof SignedOut || left) return;
      membersError.textContent = `Cannot remove ${m.user}: ${errorText(err)}`;
    }
  };

  onSubmit(memberForm, memberError, async () => {
    memberStatus.textContent = '';
    const project = selected;
    if (project === null) return;
    const user = memberUser.value.trim();
    if (!user) {
      memberError.textContent = 'Type the user name of the member to add.';
      memberUser.focus();
      return;
    }
    const role = isProjectRole(memberRole.value) ? memberRole.value : DEFAULT_MEMBER_ROLE;
    const ask = roleChangeConfirmation(shown, user, role, project, me);
    if (ask && !(await confirmAction(view, ask))) return;
    if (left || selected !== project) return;
    let member: MemberRow;
    try {
      member = await api<MemberRow>(membersPath(project), { method: 'POST', body: { user, role } });
    } catch (err) {
      // Control names what to fix: an unknown user (404), or the user field.
      if (err instanceof ApiError && (err.status === 404 || err.field === 'user')) memberUser.focus();
      throw err;
    }
    if (left || selected !== project) return;
    memberUser.value = '';
    membersError.textContent = '';
    membersStatus.textContent = '';
    memberStatus.textContent = memberOutcome(shown, member, project);
    await refreshAfterChange(project);
  });

  closeMembers.addEventListener('click', () => {
    const name = selected;
    openMembers(null, false);
    // Back to the row's button that opened it.
    const opener = name === null ? null : body.querySelector<HTMLElement>(`[data-focus="${CSS.escape(`manage-${name}`)}"]`);
    (opener ?? listHeading).focus();
  });

  // ---- create a project (admins) -----------------------------------------------------------------
  let createPanel: HTMLElement | null = null;
  if (me.admin) {
    const name = h('input', { id: 'project-name', name: 'name', type: 'text', autocomplete: 'off', spellcheck: 'false', required: true });
    const owner = h('input', { id: 'project-owner', name: 'owner', type: 'text', autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: 64 });
    const error = errorLine('project-error');
    const status = statusLine('project-status');
    const form = h('form', { id: 'project-form', class: 'form', 'aria-labelledby': 'add-project-heading', novalidate: true },
      field('Name', name, 'Spaces are allowed ("ML team").'),
      field('Owner (optional)', owner, 'The user name of its first owner, who then manages its members. Leave it empty to manage it yourself as an admin.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Create project')),
      error, status);
    onSubmit(form, error, async () => {
      status.textContent = '';
      if (!name.value.trim()) {
        error.textContent = 'Give the project a name.';
        name.focus();
        return;
      }
      const sent = createBody(name.value, owner.value);
      let project: ProjectRow;
      try {
        project = await api<ProjectRow>(PROJECTS_PATH, { method: 'POST', body: sent });
      } catch (err) {
        // Control names what to fix: the name (taken, invalid), or an unknown owner (404).
        if (err instanceof ApiError) {
          if (err.field === 'owner' || (err.status === 404 && sent.owner)) owner.focus();
          else if (err.field === 'name' || err.status === 409) name.focus();
        }
        throw err;
      }
      if (left) return;
      form.reset();
      status.textContent = `Created ${project.name}${sent.owner ? `, owned by ${sent.owner}` : ''}.`;
      await loadProjects();
    });
    createPanel = h('section', { class: 'panel', 'aria-labelledby': 'add-project-heading' }, h('h2', { id: 'add-project-heading' }, 'Create a project'), form);
  }

  view.replaceChildren(
    h('section', { class: 'panel', 'aria-labelledby': 'projects-heading' },
      listHeading,
      h('p', { class: 'lead' }, 'Instances are launched into a project; its members see them, and its users open their apps.'),
      listError, listStatus, tableRegion(table, 'projects-caption')),
    membersPanel,
    ...(createPanel ? [createPanel] : []));

  void (async () => {
    if (!(await loadProjects()) || left || selected === null) return;
    const problem = selectionProblem(projects, selected);
    if (problem) {
      listError.textContent = problem;
      selected = null;
      ctx.setQuery(projectQuery(null));
      return;
    }
    openMembers(selected, false);
  })();

  return () => { left = true; };
}
