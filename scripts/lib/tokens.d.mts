export function mintToken(secret: string, claims: { sub: string; admin?: boolean; email?: string; expiresIn?: string }): Promise<string>;
export function paymentSignature(secret: string, raw: string, nowS?: number): string;
