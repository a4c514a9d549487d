import {
  Body,
  type CanActivate,
  Controller,
  Delete,
  type ExecutionContext,
  Get,
  HttpCode,
  Injectable,
  Param,
  Post,
  UseGuards,
} from '@nestjs/common';
import type { Request } from 'express';
import { ZodValidationPipe } from '#platform';
import { ApiKeysService, CreateKeyBody, type KeyView } from '../application/api-keys/api-keys.service.js';
import { Authenticator } from '../application/auth/authenticator.js';
import { assertAdmin } from './access.js';

/** Before the body is validated, so a key without the scope learns nothing of the route. */
@Injectable()
class AdminGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    assertAdmin(context.switchToHttp().getRequest<Request>());
    return true;
  }
}

/** The admin API of API keys; every route needs the admin scope (or unrestricted loopback use). */
@Controller('rag/keys')
@UseGuards(AdminGuard)
export class KeysHttpController {
  constructor(
    private readonly keys: ApiKeysService,
    private readonly authenticator: Authenticator,
  ) {}

  /** The response holds the whole key (`key`): the only time it is shown. */
  @Post()
  @HttpCode(201)
  async create(
    @Body(new ZodValidationPipe(CreateKeyBody)) body: CreateKeyBody,
  ): Promise<KeyView & { key: string }> {
    const created = await this.keys.create(body);
    this.authenticator.forget();
    return created;
  }

  @Get()
  async list(): Promise<{ keys: KeyView[] }> {
    return { keys: await this.keys.list() };
  }

  /** Revoked at once here, and within AUTH_KEY_CACHE_MS in every other gateway. */
  @Delete(':id')
  async revoke(@Param('id') id: string): Promise<KeyView> {
    const revoked = await this.keys.revoke(id);
    this.authenticator.forget();
    return revoked;
  }
}
