import { ControlError } from '../../errors.ts';
import type { Clock, Project, ProjectMember, ProjectRole, ProjectStore } from '../store.ts';
import { isUniqueViolation, type Sql } from './sql.ts';

interface MemberRow {
  project: string;
  user: string;
  role: ProjectRole;
  added: number;
  by: string | null;
}

const MEMBER_COLUMNS = 'project, "user", role, added, by';

/** Projects and their members (control/access/projects.ts decides what they allow). */
export class SqlProjects implements ProjectStore {
  #sql: Sql;
  #clock: Clock;

  constructor(sql: Sql, clock: Clock) {
    this.#sql = sql;
    this.#clock = clock;
  }

  async add(name: string): Promise<Project> {
    const project = { name, created: this.#clock() };
    try {
      await this.#sql.run('INSERT INTO projects (name, created) VALUES (?, ?)', project.name, project.created);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ControlError('CTL_PROJECT_EXISTS', `project "${name}" exists already`);
      throw err;
    }
    return project;
  }

  async get(name: string): Promise<Project | undefined> {
    const row = await this.#sql.get<Project>('SELECT name, created FROM projects WHERE name = ?', name);
    return row && { name: row.name, created: Number(row.created) };
  }

  async list(): Promise<Project[]> {
    return (await this.#sql.all<Project>('SELECT name, created FROM projects ORDER BY name')).map((r) => ({ name: r.name, created: Number(r.created) }));
  }

  async setMember(project: string, user: string, role: ProjectRole, by: string): Promise<ProjectMember> {
    // A new role keeps the first date and who added them: the same membership, changed.
    await this.#sql.run(
      `INSERT INTO project_members (${MEMBER_COLUMNS}) VALUES (?, ?, ?, ?, ?) ON CONFLICT (project, "user") DO UPDATE SET role = excluded.role`,
      project, user, role, this.#clock(), by,
    );
    return (await this.getMember(project, user))!;
  }

  async getMember(project: string, user: string): Promise<ProjectMember | undefined> {
    const row = await this.#sql.get<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project = ? AND "user" = ?`, project, user);
    return row && toMember(row);
  }

  async members(project: string): Promise<ProjectMember[]> {
    return (await this.#sql.all<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM project_members WHERE project = ? ORDER BY added, "user"`, project)).map(toMember);
  }

  async memberships(user: string): Promise<ProjectMember[]> {
    return (await this.#sql.all<MemberRow>(`SELECT ${MEMBER_COLUMNS} FROM project_members WHERE "user" = ? ORDER BY project`, user)).map(toMember);
  }

  async removeMember(project: string, user: string): Promise<boolean> {
    return (await this.#sql.run('DELETE FROM project_members WHERE project = ? AND "user" = ?', project, user)) > 0;
  }
}

function toMember(r: MemberRow): ProjectMember {
  return { project: r.project, user: r.user, role: r.role, added: Number(r.added), by: r.by };
}
