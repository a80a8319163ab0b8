export enum Role {
  Admin = 'admin',
  User = 'user',
}

export type Handler = (req: Request) => Promise<Response>;

export interface Store {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
}

export abstract class Base {
  abstract name(): string;

  describe(): string {
    return `${this.name()} v1`;
  }
}

export namespace Auth {
  export function check(role: Role, token: string): boolean {
    if (role === Role.Admin) {
      return token.startsWith('adm_');
    }
    return token.length > 0;
  }
}

export function check(role: Role): boolean {
  return role !== Role.User;
}
